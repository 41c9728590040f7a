// SPDX-License-Identifier: GPL-2.0
/*
 * The ptp4l source: ask ptp4l over its management socket (a Unix datagram
 * socket, /var/run/ptp4l by default) for TIME_STATUS_NP, PORT_DATA_SET and
 * CURRENT_DATA_SET, optionally read the PHC-to-system offset, and let
 * ptp_model.c judge the lot.
 *
 * Our socket is bound to an abstract address (no file to clean up); ptp4l
 * answers to whatever address a request came from, and we take answers only
 * from ptp4l's address.  Each request carries a
 * fresh sequenceId and only answers with that id count, so a late answer to
 * an earlier poll is never taken for a new one.  A wildcard PORT_DATA_SET
 * request is answered once per port; we read answers until a short quiet
 * period and keep the best port state.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "phc.h"
#include "pmc_codec.h"
#include "ptp_model.h"
#include "syncd.h"

#define PTP4L_REPLY_TIMEOUT_MS	500
#define PTP4L_MORE_PORTS_MS	20
#define PHC_SAMPLES		9

struct syncd_source {
	int fd;
	int phc_fd;			/* -1 without --phc */
	const char *socket_path;
	struct sockaddr_un peer;
	struct pmc_request req;
	struct ptp_model_params params;
	int64_t last_ingress;
	int last_flags;			/* -1 before the first update */
	int reachable;			/* -1 before the first poll */
};

/* Bind our abstract address; ptp4l's is used per request (sendto), so the
 * agent may start before ptp4l and survive its restarts. */
static int ptp4l_bind(struct syncd_source *s)
{
	struct sockaddr_un self = { .sun_family = AF_UNIX };
	socklen_t self_len;
	int n;

	if (strlen(s->socket_path) >= sizeof(s->peer.sun_path))
		return -ENAMETOOLONG;
	s->peer.sun_family = AF_UNIX;
	strcpy(s->peer.sun_path, s->socket_path);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	/* Abstract address: sun_path[0] is NUL, the name follows. */
	n = snprintf(self.sun_path + 1, sizeof(self.sun_path) - 1,
		     "gnomon-syncd.%d", (int)getpid());
	self_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (bind(s->fd, (struct sockaddr *)&self, self_len) < 0) {
		int ret = -errno;

		close(s->fd);
		s->fd = -1;
		return ret;
	}
	return 0;
}

/*
 * Send a GET for mid and wait for answers.  For PORT_DATA_SET *out gets the
 * answer with the best port state.  Returns 0, -ETIMEDOUT, -EREMOTEIO (ptp4l
 * answered with an error) or another -errno.
 */
static int ptp4l_get(struct syncd_source *s, uint16_t mid,
		     struct pmc_response *out)
{
	uint8_t buf[PMC_MAX_MESSAGE];
	int timeout = PTP4L_REPLY_TIMEOUT_MS, got = 0, len;

	s->req.mid = mid;
	s->req.sequence_id++;
	len = pmc_request__encode_get(&s->req, buf, sizeof(buf));
	if (len < 0)
		return len;
	if (sendto(s->fd, buf, (size_t)len, 0, (struct sockaddr *)&s->peer,
		   sizeof(s->peer)) < 0)
		return -errno;

	for (int round = 0; round < 64; round++) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		struct sockaddr_un from;
		socklen_t from_len = sizeof(from);
		struct pmc_response r;
		const char *why = NULL;
		ssize_t n;
		int ret;

		ret = poll(&pfd, 1, timeout);
		if (ret < 0)
			return -errno;
		if (ret == 0)
			break;
		n = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &from_len);
		if (n < 0)
			return -errno;
		if (from_len <= offsetof(struct sockaddr_un, sun_path) ||
		    strncmp(from.sun_path, s->peer.sun_path,
			    sizeof(from.sun_path)))
			continue;	/* not from ptp4l */
		ret = pmc_response__decode(buf, (size_t)n, &r, &why);
		if (ret) {
			syncd_warn("ptp4l: ignoring a message: %s", why);
			continue;
		}
		if (r.sequence_id != s->req.sequence_id || r.mid != mid)
			continue;	/* an answer to an earlier request */
		if (r.error) {
			syncd_warn("ptp4l: management error 0x%04x for id 0x%04x",
				   r.error, mid);
			return -EREMOTEIO;
		}
		if (!got || (mid == PMC_MID_PORT_DATA_SET &&
			     ptp_model__best_state(out->u.port.state,
						   r.u.port.state) != out->u.port.state))
			*out = r;
		got++;
		if (mid != PMC_MID_PORT_DATA_SET)
			break;
		timeout = PTP4L_MORE_PORTS_MS;
	}
	return got ? 0 : -ETIMEDOUT;
}

static int ptp4l_open(struct syncd_source **src, const struct syncd_options *opt)
{
	struct syncd_source *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->phc_fd = -1;
	s->socket_path = opt->ptp4l_socket;
	s->req.domain = opt->ptp_domain;
	s->req.source.port = (uint16_t)getpid();
	s->params.asymmetry_ns = opt->asymmetry_ns;
	s->last_flags = -1;
	s->reachable = -1;
	ret = ptp4l_bind(s);
	if (ret) {
		syncd_err("ptp4l socket %s: %s", s->socket_path, strerror(-ret));
		free(s);
		return ret;
	}
	if (opt->phc_path) {
		s->phc_fd = phc__open(opt->phc_path);
		if (s->phc_fd < 0) {
			ret = s->phc_fd;
			syncd_err("%s: %s", opt->phc_path, strerror(-ret));
			close(s->fd);
			free(s);
			return ret;
		}
	}
	*src = s;
	return 0;
}

static int query_phc(struct syncd_source *s, struct ptp_observation *obs)
{
	struct pmc_response tp;
	struct phc_offset po;
	int ret;

	ret = ptp4l_get(s, PMC_MID_TIME_PROPERTIES_DATA_SET, &tp);
	if (ret)
		return ret;
	ret = phc__read_offset(s->phc_fd, PHC_SAMPLES, &po);
	if (ret) {
		syncd_warn("PHC read: %s", strerror(-ret));
		return ret;
	}
	obs->mono_ns = syncd_mono_ns();
	obs->have_phc = true;
	obs->phc_window_ns = po.window_ns;
	obs->clock_now_ns = po.phc_ns;
	obs->phc_offset_ns = po.offset_ns;
	/* A PHC on the PTP timescale runs TAI; CLOCK_REALTIME is UTC. */
	if (tp.u.time_props.flags & PMC_TP_PTP_TIMESCALE)
		obs->phc_offset_ns -= (int64_t)tp.u.time_props.utc_offset *
				      1000000000LL;
	return 0;
}

static int query(struct syncd_source *s, struct ptp_observation *obs)
{
	struct pmc_response r;
	int ret;

	ret = ptp4l_get(s, PMC_MID_TIME_STATUS_NP, &r);
	if (ret)
		return ret;
	obs->time_status = r.u.time_status;
	ret = ptp4l_get(s, PMC_MID_PORT_DATA_SET, &r);
	if (ret)
		return ret;
	obs->port_state = r.u.port.state;
	ret = ptp4l_get(s, PMC_MID_CURRENT_DATA_SET, &r);
	if (ret)
		return ret;
	obs->current = r.u.current;
	if (s->phc_fd >= 0)
		return query_phc(s, obs);
	obs->clock_now_ns = (int64_t)syncd_real_ns();
	obs->mono_ns = syncd_mono_ns();
	return 0;
}

static int ptp4l_sample(struct syncd_source *s, struct gnomon_discipline *d)
{
	struct ptp_observation obs = { 0 };
	const char *why = NULL;
	int ret;

	ret = query(s, &obs);
	if (ret) {
		if (s->reachable)	/* warn once per outage */
			syncd_warn("ptp4l at %s does not answer: %s",
				   s->socket_path, strerror(-ret));
		s->reachable = 0;
		return -EAGAIN;
	}
	if (s->reachable != 1)
		syncd_info("ptp4l at %s answers", s->socket_path);
	s->reachable = 1;
	ptp_model__assess(&obs, &s->params, d, &why);
	syncd_debug("ptp4l: port %s, master offset %lld ns, path delay %lld ns, error %llu ns",
		    pmc_port_state__name(obs.port_state),
		    (long long)obs.time_status.master_offset_ns,
		    (long long)(obs.current.path_delay_scaled / 65536),
		    (unsigned long long)d->error_ns);
	if ((int)d->flags != s->last_flags) {
		if (why)
			syncd_warn("ptp4l: unsynchronised: %s", why);
		else
			syncd_info("ptp4l: synchronised (port %s)",
				   pmc_port_state__name(obs.port_state));
	} else if (obs.port_state == PMC_PS_SLAVE &&
		   obs.time_status.ingress_time_ns == s->last_ingress) {
		return -EAGAIN;	/* no Sync since the last update */
	}
	s->last_flags = (int)d->flags;
	s->last_ingress = obs.time_status.ingress_time_ns;
	return 0;
}

static void ptp4l_close(struct syncd_source *s)
{
	if (s->phc_fd >= 0)
		close(s->phc_fd);
	close(s->fd);
	free(s);
}

const struct syncd_source_ops syncd_ptp4l_source = {
	.name = "ptp4l",
	.open = ptp4l_open,
	.sample = ptp4l_sample,
	.close = ptp4l_close,
};
