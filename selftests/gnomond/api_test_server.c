// SPDX-License-Identifier: GPL-2.0
/*
 * gnomond-api-test-server: a TEST FIXTURE, not the daemon.  One process,
 * one MVCC store, no Raft, no durability: it serves the etcd v3 API on a
 * loopback TCP port with plain poll() and non-blocking sockets, so that
 * real clients (etcdctl, python3-etcd3) can exercise the API layer and the
 * state machine exactly as gnomond will drive them: writes are wrapped
 * into log commands and applied with mvcc_store__apply(), reads served
 * with mvcc_store__range().  To exercise out-of-order completion, answers
 * are held until the current batch of input is processed and then given
 * newest first.
 *
 *	gnomond-api-test-server [--listen 127.0.0.1:PORT] [--port-file F]
 *	    [--quota-backend-bytes N] [--max-request-bytes N]
 *
 * Port 0 picks a free port, written to the port file.  SIGTERM or SIGINT
 * stops it cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../tools/gnomond/api/api.h"

#define MAX_CONNS 64
#define MAX_PENDING 4096

struct conn {
	int fd;
	unsigned int gen;
	struct api_session *s;
};

struct answer {
	int slot;
	unsigned int gen;
	int32_t stream_id;
	struct mvcc_result res;
};

struct server {
	struct mvcc_store *store;
	struct mvcc_header hdr;
	struct conn conns[MAX_CONNS];
	unsigned int next_gen;
	struct answer pending[MAX_PENDING];
	size_t npending;
	int current;			/* slot being fed */
	size_t max_request;
	char client_url[64];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A write was refused for space: raise this member's alarm, as etcd. */
static int raise_nospace(struct server *sv)
{
	Etcdserverpb__AlarmRequest a = ETCDSERVERPB__ALARM_REQUEST__INIT;
	struct mvcc_result res = { 0 };
	uint8_t *cmd;
	size_t len;
	int rc;

	a.memberid = sv->hdr.member_id;
	a.action = ETCDSERVERPB__ALARM_REQUEST__ALARM_ACTION__ACTIVATE;
	a.alarm = ETCDSERVERPB__ALARM_TYPE__NOSPACE;
	rc = mvcc_cmd__encode(MVCC_CMD_ALARM, &a.base, &cmd, &len);
	if (rc)
		return rc;
	rc = mvcc_store__apply(sv->store, &sv->hdr, cmd, len, &res);
	mvcc_result__release(&res);
	free(cmd);
	return rc;
}

/* Status and MemberList describe this one member; the rest is the store's. */
static int serve(struct server *sv, struct api_request *req,
		       struct mvcc_result *res)
{
	const char *url = sv->client_url;
	struct api_member me = {
		.id = sv->hdr.member_id, .name = "gnomond-api-test",
		.client_urls = &url, .n_client_urls = 1,
	};
	struct api_status st = {
		.db_size = mvcc_store__size(sv->store),
		.db_size_in_use = mvcc_store__size(sv->store),
		.leader = sv->hdr.member_id,
		.raft_term = sv->hdr.raft_term,
	};
	char alarm[MVCC_MAX_ALARMS][64];
	const char *errs[MVCC_MAX_ALARMS];
	int64_t rev = mvcc_store__revision(sv->store);
	int rc;

	switch (req->method) {
	case API_MAINTENANCE_STATUS:
		while (st.n_errors < MVCC_MAX_ALARMS &&
		       mvcc_store__alarm_text(sv->store, st.n_errors,
					      alarm[st.n_errors],
					      sizeof(alarm[0]))) {
			errs[st.n_errors] = alarm[st.n_errors];
			st.n_errors++;
		}
		st.errors = errs;
		return api_status__pack(&sv->hdr, rev, &st, &res->resp,
					&res->len);
	case API_CLUSTER_MEMBER_LIST:
		return api_members__pack(&sv->hdr, rev, &me, 1, &res->resp,
					 &res->len);
	default:
		rc = api_serve_local(sv->store, &sv->hdr, req, res);
		if (!rc && res->err == ETCD_ERR_NO_SPACE &&
		    !mvcc_store__nospace(sv->store))
			rc = raise_nospace(sv);
		return rc;
	}
}

static void on_request(void *ctx, struct api_session *s,
		       struct api_request *req)
{
	struct server *sv = ctx;
	struct answer *a;
	int rc;

	if (sv->npending == MAX_PENDING) {
		api_session__fail_etcd(s, req->stream_id, ETCD_ERR_TIMEOUT);
		return;
	}
	a = &sv->pending[sv->npending];
	memset(a, 0, sizeof(*a));
	rc = serve(sv, req, &a->res);
	if (rc) {
		fprintf(stderr, "gnomond-api-test-server: apply: %s\n",
			strerror(-rc));
		api_session__fail(s, req->stream_id, GRPC_INTERNAL,
				  "gnomond-api-test-server: out of memory");
		return;
	}
	a->slot = sv->current;
	a->gen = sv->conns[sv->current].gen;
	a->stream_id = req->stream_id;
	sv->npending++;
}

static const struct api_ops server_ops = { .request = on_request };

/* Give the held answers, newest first. */
static void flush_answers(struct server *sv)
{
	while (sv->npending) {
		struct answer *a = &sv->pending[--sv->npending];
		struct conn *c = &sv->conns[a->slot];

		if (c->s && c->gen == a->gen)
			api_session__answer(c->s, a->stream_id, &a->res);
		mvcc_result__release(&a->res);
	}
}

static void close_conn(struct conn *c)
{
	api_session__free(c->s);
	close(c->fd);
	c->s = NULL;
	c->fd = -1;
}

/* Send what the session has; false when the connection must close. */
static bool pump(struct conn *c)
{
	const uint8_t *data;
	size_t len;
	ssize_t n;

	for (;;) {
		if (api_session__output(c->s, &data, &len))
			return false;
		if (!len)
			return !api_session__done(c->s);
		n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		api_session__consume(c->s, n);
	}
}

static void accept_conn(struct server *sv, int lfd)
{
	struct api_limits lim = { 0 };
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &sv->conns[i];

		if (c->s)
			continue;
		lim.max_request_bytes = sv->max_request;
		if (api_session__new(&c->s, &server_ops, sv, &lim)) {
			c->s = NULL;
			break;
		}
		c->fd = fd;
		c->gen = ++sv->next_gen;
		return;
	}
	close(fd);
}

static void handle_input(struct server *sv, int slot)
{
	struct conn *c = &sv->conns[slot];
	uint8_t buf[65536];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	sv->current = slot;
	if (n <= 0 || api_session__recv(c->s, buf, n)) {
		flush_answers(sv);
		pump(c);
		close_conn(c);
		return;
	}
	flush_answers(sv);
}

static int listen_on(const char *spec, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	char host[64];
	const char *colon = strrchr(spec, ':');
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, colon - spec);
	host[colon - spec] = 0;
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -EINVAL;
	a.sin_port = htons(atoi(colon + 1));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int run(struct server *sv, int lfd)
{
	struct pollfd pfd[MAX_CONNS + 1];
	int slot[MAX_CONNS + 1];

	while (!stop) {
		int n = 0;

		pfd[n].fd = lfd;
		pfd[n++].events = POLLIN;
		for (int i = 0; i < MAX_CONNS; i++) {
			const uint8_t *d;
			size_t len = 0;

			if (!sv->conns[i].s)
				continue;
			api_session__output(sv->conns[i].s, &d, &len);
			slot[n] = i;
			pfd[n].fd = sv->conns[i].fd;
			pfd[n++].events = POLLIN | (len ? POLLOUT : 0);
		}
		if (poll(pfd, n, 1000) < 0 && errno != EINTR)
			return -errno;
		if (pfd[0].revents & POLLIN)
			accept_conn(sv, lfd);
		for (int j = 1; j < n; j++) {
			struct conn *c = &sv->conns[slot[j]];

			if (pfd[j].revents & (POLLIN | POLLHUP | POLLERR))
				handle_input(sv, slot[j]);
			if (c->s && !pump(c))
				close_conn(c);
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: gnomond-api-test-server [--listen ADDR:PORT] "
		"[--port-file FILE] [--quota-backend-bytes N] "
		"[--max-request-bytes N]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "quota-backend-bytes", required_argument, NULL, 'q' },
		{ "max-request-bytes", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_spec = "127.0.0.1:0", *port_file = NULL;
	unsigned long long quota = 0;
	static struct server sv;
	uint16_t port = 0;
	int c, lfd, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_spec = optarg;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'q':
			quota = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			sv.max_request = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	lfd = listen_on(listen_spec, &port);
	if (lfd < 0) {
		fprintf(stderr, "gnomond-api-test-server: listen %s: %s\n",
			listen_spec, strerror(-lfd));
		return 1;
	}
	if (mvcc_store__new(&sv.store, quota)) {
		fprintf(stderr, "gnomond-api-test-server: out of memory\n");
		return 1;
	}
	sv.hdr = (struct mvcc_header){ .cluster_id = 0x676e6f6d6f6e,
				       .member_id = 0x1, .raft_term = 1 };
	snprintf(sv.client_url, sizeof(sv.client_url), "http://127.0.0.1:%u",
		 port);
	for (int i = 0; i < MAX_CONNS; i++)
		sv.conns[i].fd = -1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (port_file) {
		FILE *f = fopen(port_file, "w");

		if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f)) {
			fprintf(stderr, "gnomond-api-test-server: %s: %s\n",
				port_file, strerror(errno));
			return 1;
		}
	}
	fprintf(stderr, "gnomond-api-test-server: listening on 127.0.0.1:%u\n",
		port);
	rc = run(&sv, lfd);
	for (int i = 0; i < MAX_CONNS; i++)
		if (sv.conns[i].s)
			close_conn(&sv.conns[i]);
	close(lfd);
	mvcc_store__free(sv.store);
	return rc ? 1 : 0;
}
