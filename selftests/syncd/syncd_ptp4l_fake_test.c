// SPDX-License-Identifier: GPL-2.0
/*
 * gnomon-syncd's ptp4l source end to end on the host, against a scripted
 * stand-in for ptp4l: the test binds a Unix datagram socket where ptp4l's
 * would be, answers the agent's GET requests with crafted management
 * messages (pmc_craft.h), and reads the page the agent wrote (--shm --once).
 *
 *	SLAVE (one of two ports), offset -400 ns, path delay 1500 ns
 *	    -> error 1900 ns, synchronized, as of the Sync's ingress; garbage
 *	       and answers to stale sequence ids sent first are ignored
 *	UNCALIBRATED -> an unsynchronized update
 *	an error TLV, or no answer at all -> no update, exit status 1
 *
 * The real ptp4l runs in the VM test (syncd_ptp4l_test.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../ktap.h"
#include "agent_spawn.h"
#include "gnomon_core.h"
#include "pmc_craft.h"

#define INGRESS_AGE_NS	50000000LL	/* the crafted Sync is 50 ms old */

struct fake_ptp4l {
	uint8_t port_state;
	int64_t offset_ns;
	int64_t path_delay_ns;
	bool error_tlv;		/* answer TIME_STATUS_NP with NO_SUCH_ID */
	bool silent;		/* never answer */
	bool noise;		/* garbage and stale answers before each reply */
};

static char dir[64], sock_path[96], shm[96];

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void craft_answer(const struct fake_ptp4l *f, uint16_t seq,
			 uint16_t mid, int port, struct craft_msg *m)
{
	uint8_t d[PMC_PORT_DS_LEN] = { 0 };

	switch (mid) {
	case PMC_MID_TIME_STATUS_NP:
		craft_time_status(m, seq, f->offset_ns,
				  (int64_t)clock_ns(CLOCK_REALTIME) -
				  INGRESS_AGE_NS, 1);
		if (f->error_tlv) {
			craft_start(m, seq, PMC_RESPONSE);
			craft_be(d, 0x0002, 2);		/* NO_SUCH_ID */
			craft_be(d + 2, mid, 2);
			craft_tlv(m, PMC_TLV_MANAGEMENT_ERROR, 0x0002, d + 2, 6);
		}
		return;
	case PMC_MID_PORT_DATA_SET:
		craft_be(d + 8, (uint64_t)port, 2);
		d[10] = port == 1 ? PMC_PS_LISTENING : f->port_state;
		craft_start(m, seq, PMC_RESPONSE);
		craft_tlv(m, PMC_TLV_MANAGEMENT, mid, d, PMC_PORT_DS_LEN);
		return;
	case PMC_MID_CURRENT_DATA_SET:
		craft_be(d + 2, (uint64_t)(f->offset_ns * 65536), 8);
		craft_be(d + 10, (uint64_t)(f->path_delay_ns * 65536), 8);
		craft_start(m, seq, PMC_RESPONSE);
		craft_tlv(m, PMC_TLV_MANAGEMENT, mid, d, PMC_CURRENT_DS_LEN);
		return;
	}
	craft_start(m, seq, PMC_RESPONSE);
	craft_tlv(m, PMC_TLV_MANAGEMENT_ERROR, 0x0006, d, 6);	/* NOT_SUPPORTED */
}

static void answer(int fd, const struct fake_ptp4l *f, const uint8_t *req,
		   size_t len, const struct sockaddr_un *to, socklen_t to_len)
{
	const struct sockaddr *sa = (const struct sockaddr *)to;
	struct craft_msg m;
	uint16_t seq, mid;

	if (len < PMC_REQUEST_LEN || (req[46] & 0x0f) != PMC_GET)
		return;
	seq = (uint16_t)(req[30] << 8 | req[31]);
	mid = (uint16_t)(req[52] << 8 | req[53]);
	if (f->noise) {
		static const uint8_t garbage[] = { 0x0d, 0x02, 0xff, 0xff, 1, 2 };

		sendto(fd, garbage, sizeof(garbage), 0, sa, to_len);
		craft_answer(f, (uint16_t)(seq - 1), mid, 2, &m);
		sendto(fd, m.b, m.len, 0, sa, to_len);
	}
	/* PORT_DATA_SET: one answer per port, the SLAVE one second. */
	for (int port = mid == PMC_MID_PORT_DATA_SET ? 1 : 2; port <= 2; port++) {
		craft_answer(f, seq, mid, port, &m);
		sendto(fd, m.b, m.len, 0, sa, to_len);
	}
}

/* Run the agent once against the fake; returns its exit status. */
static int run_against(struct ktap *t, const struct fake_ptp4l *f)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, status = -1;
	pid_t pid;

	snprintf(dir, sizeof(dir), "/tmp/gnomon-fakeptp.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/ptp4l", dir);
	snprintf(shm, sizeof(shm), "%s/clock", dir);
	strcpy(addr.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	KTAP_EXPECT(t, fd >= 0 && bind(fd, (struct sockaddr *)&addr,
				       sizeof(addr)) == 0, "bind: %s",
		    strerror(errno));

	pid = agent_spawn((const char *const[]){ "--source", "ptp4l",
		"--ptp4l-socket", sock_path, "--shm", shm, "--once", "-vv",
		NULL }, NULL);
	for (int i = 0; i < 200; i++) {		/* at most 10 s */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_un from;
		socklen_t from_len = sizeof(from);
		uint8_t buf[PMC_MAX_MESSAGE];
		ssize_t n;

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &from_len);
		if (n > 0 && !f->silent)
			answer(fd, f, buf, (size_t)n, &from, from_len);
	}
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		KTAP_EXPECT(t, false, "agent did not finish");
	}
	close(fd);
	unlink(sock_path);
	return status;
}

/* The page the agent left, and TT.now() from it. */
static bool read_page(struct gnomon_page *snap, struct gnomon_tt *now)
{
	int fd = open(shm, O_RDONLY);
	struct gnomon_page *page;

	if (fd < 0)
		return false;
	page = mmap(NULL, GNOMON_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (page == MAP_FAILED)
		return false;
	gnomon_page_snapshot(page, snap);
	gnomon_tt_compute(snap, clock_ns(CLOCK_MONOTONIC),
			  clock_ns(CLOCK_REALTIME), now);
	munmap(page, GNOMON_PAGE_SIZE);
	unlink(shm);
	rmdir(dir);
	return true;
}

KTAP_TEST(slave_gives_offset_plus_path_delay)
{
	const struct fake_ptp4l f = {
		.port_state = PMC_PS_SLAVE, .offset_ns = -400,
		.path_delay_ns = 1500, .noise = true,
	};
	struct gnomon_page snap;
	struct gnomon_tt now;
	int status = run_against(t, &f);

	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "agent exit 0x%x", status);
	KTAP_ASSERT(t, read_page(&snap, &now), "no page");
	KTAP_EXPECT(t, snap.updates == 1 && snap.source == GNOMON_SOURCE_PTP,
		    "updates %llu source %u", (unsigned long long)snap.updates,
		    snap.source);
	KTAP_EXPECT(t, snap.error_ns == 1900, "error %llu",
		    (unsigned long long)snap.error_ns);
	KTAP_EXPECT(t, !(snap.flags & GNOMON_PAGE_UNSYNC), "flags %x", snap.flags);
	KTAP_EXPECT(t, snap.as_of_mono_ns + INGRESS_AGE_NS <=
		    clock_ns(CLOCK_MONOTONIC), "as of now, not of the Sync");
	KTAP_EXPECT(t, now.status == GNOMON_STATUS_SYNCHRONIZED &&
		    now.bound_ns >= 1900, "status %u bound %llu", now.status,
		    (unsigned long long)now.bound_ns);
}

KTAP_TEST(uncalibrated_is_unsynchronized)
{
	const struct fake_ptp4l f = {
		.port_state = PMC_PS_UNCALIBRATED, .offset_ns = 10,
		.path_delay_ns = 10,
	};
	struct gnomon_page snap;
	struct gnomon_tt now;
	int status = run_against(t, &f);

	KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "agent exit 0x%x", status);
	KTAP_ASSERT(t, read_page(&snap, &now), "no page");
	KTAP_EXPECT(t, snap.updates == 1 && (snap.flags & GNOMON_PAGE_UNSYNC),
		    "updates %llu flags %x", (unsigned long long)snap.updates,
		    snap.flags);
	KTAP_EXPECT(t, now.status == GNOMON_STATUS_UNSYNCHRONIZED &&
		    now.bound_ns == GNOMON_BOUND_INFINITE, "status %u", now.status);
}

KTAP_TEST(error_or_silence_sends_nothing)
{
	const struct fake_ptp4l cases[] = {
		{ .port_state = PMC_PS_SLAVE, .error_tlv = true },
		{ .port_state = PMC_PS_SLAVE, .silent = true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gnomon_page snap;
		struct gnomon_tt now;
		int status = run_against(t, &cases[i]);

		KTAP_EXPECT(t, WIFEXITED(status) && WEXITSTATUS(status) == 1,
			    "case %zu: agent exit 0x%x", i, status);
		KTAP_ASSERT(t, read_page(&snap, &now), "no page");
		KTAP_EXPECT(t, snap.updates == 0 &&
			    now.status == GNOMON_STATUS_UNSYNCHRONIZED,
			    "case %zu: updates %llu status %u", i,
			    (unsigned long long)snap.updates, now.status);
	}
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
