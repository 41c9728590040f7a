// SPDX-License-Identifier: GPL-2.0
/*
 * Leases in a real kernel: grant, renew and release; tokens that go
 * backwards refused and counted; the lapse judged against TT.now() and
 * noticed by the timer with nobody asking; fencing the moment the clock
 * goes unsynchronized or is stepped; free-running still holding; who may
 * do what; bad input; and what a reload forgets.
 *
 * Every verdict is checked against the TT.now() it was judged on
 * (judged_latest_ns), never against a timing threshold.
 */
#include <sys/stat.h>

#include "kmod_util.h"

#define LEASES	SYSFS "leases/"

static int fd;

/* Open the device and discipline the clock: 1 ms now, 10 s interval. */
static int setup(void)
{
	fd = dev_open();
	if (fd < 0)
		return -1;
	return discipline(fd, MS, 10 * SEC, 0);
}

static struct gnomon_lease_req req(const char *name, const char *holder,
				   __u64 token, __u64 end_ns, __u64 margin_ns)
{
	struct gnomon_lease_req r;

	memset(&r, 0, sizeof(r));
	strncpy(r.name, name, sizeof(r.name) - 1);
	strncpy(r.holder, holder, sizeof(r.holder) - 1);
	r.token = token;
	r.end_ns = end_ns;
	r.margin_ns = margin_ns;
	return r;
}

static int lease_call(unsigned long cmd, const char *name, const char *holder,
		      __u64 token, __u64 end_ns, __u64 margin_ns)
{
	struct gnomon_lease_req r = req(name, holder, token, end_ns, margin_ns);

	return xioctl(fd, cmd, &r);
}

/* Grant NAME for ttl past TT.now().latest. */
static int grant_for(const char *name, const char *holder, __u64 token,
		     __u64 ttl_ns, __u64 margin_ns)
{
	return lease_call(GNOMON_IOC_LEASE_GRANT, name, holder, token,
			  read_tt(fd).latest_ns + ttl_ns, margin_ns);
}

static struct gnomon_lease_info get(const char *name)
{
	struct gnomon_lease_info info;

	memset(&info, 0, sizeof(info));
	strncpy(info.name, name, sizeof(info.name) - 1);
	if (xioctl(fd, GNOMON_IOC_LEASE_GET, &info))
		info.state = 0xff;
	return info;
}

static long long lease_sysfs(const char *name, const char *attr)
{
	char path[128];

	snprintf(path, sizeof(path), "leases/%s/%s", name, attr);
	return sysfs_counter(path);
}

/* The verdict agrees with the TT.now() it was judged on. */
static bool verdict_fits(const struct gnomon_lease_info *l)
{
	bool reaches = l->judged_latest_ns + l->margin_ns >= l->end_ns;

	switch (l->state) {
	case GNOMON_LEASE_HELD:
		return !reaches && (l->clock_status == GNOMON_STATUS_SYNCHRONIZED ||
				    l->clock_status == GNOMON_STATUS_FREE_RUNNING);
	case GNOMON_LEASE_EXPIRED:
		return reaches;
	case GNOMON_LEASE_CLOCK:
		return l->clock_status == GNOMON_STATUS_UNSYNCHRONIZED ||
		       l->clock_status == GNOMON_STATUS_DISRUPTED;
	case GNOMON_LEASE_RELEASED:
		return l->end_ns == 0;
	}
	return false;
}

KTAP_TEST(grant_renew_release)
{
	struct gnomon_lease_info l;
	__u64 end;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, grant_for("disk0", "host-a", 5, 60 * SEC, 10 * MS) == 0, "grant");
	l = get("disk0");
	KTAP_EXPECT(t, l.state == GNOMON_LEASE_HELD && l.token == 5 && l.grants == 1 &&
		    !strcmp(l.holder, "host-a") && l.margin_ns == 10 * MS && verdict_fits(&l),
		    "after grant: state %u token %llu grants %llu", l.state,
		    (unsigned long long)l.token, (unsigned long long)l.grants);

	/* Equal token: a renewal by the same holder; empty holder = the same. */
	end = read_tt(fd).latest_ns + 120 * SEC;
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RENEW, "disk0", "host-a", 5, end, 0) == 0,
		    "renew, same token and holder");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RENEW, "disk0", "", 5, end, 0) == 0,
		    "renew, same token, holder left out");
	l = get("disk0");
	KTAP_EXPECT(t, l.renewals == 2 && l.end_ns == end && l.margin_ns == 0 &&
		    !strcmp(l.holder, "host-a") && l.state == GNOMON_LEASE_HELD,
		    "after renewals: renewals %llu holder %s", (unsigned long long)l.renewals,
		    l.holder);

	/* A higher token through renew is a new grant. */
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RENEW, "disk0", "host-b", 6, end, 0) == 0,
		    "renew to a higher token");
	l = get("disk0");
	KTAP_EXPECT(t, l.token == 6 && l.grants == 2 && !strcmp(l.holder, "host-b"),
		    "token %llu grants %llu", (unsigned long long)l.token,
		    (unsigned long long)l.grants);

	/* Release: only with the current token; the token floor stays. */
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RELEASE, "disk0", "", 5, 0, 0) == -ESTALE,
		    "release with an old token");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RELEASE, "disk0", "", 7, 0, 0) == -EINVAL,
		    "release with a token never granted");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RELEASE, "disk0", "host-a", 6, 0, 0) == -ESTALE,
		    "release by another holder");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RELEASE, "disk0", "host-b", 6, 0, 0) == 0,
		    "release");
	l = get("disk0");
	KTAP_EXPECT(t, l.state == GNOMON_LEASE_RELEASED && l.token == 6 && l.releases == 1 &&
		    l.lapses == 0 && verdict_fits(&l), "after release: state %u token %llu lapses %llu",
		    l.state, (unsigned long long)l.token, (unsigned long long)l.lapses);
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RENEW, "disk0", "", 6, end, 0) == -ENOENT,
		    "renew after release");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RELEASE, "disk0", "", 6, 0, 0) == 0 &&
		    get("disk0").releases == 1, "a second release changes nothing");
	KTAP_EXPECT(t, grant_for("disk0", "host-b", 6, 60 * SEC, 0) == 0 &&
		    get("disk0").state == GNOMON_LEASE_HELD,
		    "the same holder may grant its token again after release");
	KTAP_EXPECT(t, lease_sysfs("disk0", "token") == 6, "sysfs token");
	close(fd);
}

KTAP_TEST(tokens_never_go_backwards)
{
	long long global = sysfs_counter("lease_stale_refused");
	struct gnomon_lease_info l;
	char state[32] = "";
	FILE *f;

	KTAP_ASSERT(t, setup() == 0 && global >= 0, "setup");
	KTAP_ASSERT(t, grant_for("disk1", "a", 100, 60 * SEC, 0) == 0, "grant 100");
	KTAP_EXPECT(t, grant_for("disk1", "a", 99, 60 * SEC, 0) == -ESTALE, "grant 99");
	KTAP_EXPECT(t, grant_for("disk1", "b", 100, 60 * SEC, 0) == -ESTALE,
		    "grant 100 by another holder");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RENEW, "disk1", "", 3,
				  read_tt(fd).latest_ns + SEC, 0) == -ESTALE, "renew 3");
	KTAP_EXPECT(t, grant_for("disk1", "a", 0, 60 * SEC, 0) == -ESTALE, "grant 0");
	l = get("disk1");
	KTAP_EXPECT(t, l.token == 100 && !strcmp(l.holder, "a") && l.stale_refused == 4 &&
		    l.grants == 1 && l.state == GNOMON_LEASE_HELD,
		    "token %llu stale_refused %llu", (unsigned long long)l.token,
		    (unsigned long long)l.stale_refused);
	KTAP_EXPECT(t, lease_sysfs("disk1", "stale_refused") == 4, "sysfs stale_refused");
	KTAP_EXPECT(t, sysfs_counter("lease_stale_refused") == global + 4,
		    "module-wide counter %lld, was %lld", sysfs_counter("lease_stale_refused"),
		    global);
	/* A refused grant leaves the lease exactly as it was. */
	f = fopen(LEASES "disk1/state", "r");
	KTAP_EXPECT(t, f && fscanf(f, "%31s", state) == 1 && !strcmp(state, "held"),
		    "sysfs state '%s'", state);
	if (f)
		fclose(f);
	/* Released, the floor stays: a lower token is still refused. */
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RELEASE, "disk1", "", 100, 0, 0) == 0,
		    "release");
	KTAP_EXPECT(t, grant_for("disk1", "c", 50, 60 * SEC, 0) == -ESTALE,
		    "grant 50 after release");
	KTAP_EXPECT(t, grant_for("disk1", "c", 101, 60 * SEC, 0) == 0, "grant 101");
	close(fd);
}

KTAP_TEST(lapse_judged_on_tt_now)
{
	struct gnomon_lease_info l, last_held = { 0 };
	int held = 0, i;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, grant_for("disk2", "", 1, 300 * MS, 50 * MS) == 0, "grant");
	/* Bounded: 20,000 reads or 30 s of the guest's time. */
	for (i = 0; i < 20000; i++) {
		l = get("disk2");
		KTAP_ASSERT(t, verdict_fits(&l), "verdict %u with latest %llu margin %llu end %llu",
			    l.state, (unsigned long long)l.judged_latest_ns,
			    (unsigned long long)l.margin_ns, (unsigned long long)l.end_ns);
		if (l.state != GNOMON_LEASE_HELD)
			break;
		last_held = l;
		held++;
		if (l.judged_latest_ns > l.end_ns + 30 * SEC)
			break;
		sleep_ns(MS);
	}
	KTAP_EXPECT(t, l.state == GNOMON_LEASE_EXPIRED, "state %u after %d reads", l.state, i);
	KTAP_EXPECT(t, held > 0 && last_held.judged_latest_ns + last_held.margin_ns < l.end_ns,
		    "held %d times before the lapse", held);
	KTAP_EXPECT(t, l.lapses == 1, "lapses %llu", (unsigned long long)l.lapses);
	ktap_diag("lapse noticed %llu ns after latest + margin reached the end",
		  (unsigned long long)l.lapse_late_ns);
}

KTAP_TEST(timer_notices_the_lapse_alone)
{
	long long lapses, late, end;
	struct gnomon_tt tt;
	int i;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, grant_for("disk3", "", 1, 200 * MS, 0) == 0, "grant");
	/* Touch nothing that judges the lease (GET, sysfs state): only
	 * TT.now() and the plain sysfs numbers.  Bounded: 600 x 100 ms. */
	end = lease_sysfs("disk3", "end_ns");
	KTAP_ASSERT(t, end > 0, "end_ns");
	for (i = 0; i < 600; i++) {
		sleep_ns(100 * MS);
		tt = read_tt(fd);
		if (tt.bound_ns == GNOMON_BOUND_INFINITE ||
		    tt.latest_ns > (__u64)end + 100 * MS)
			break;
	}
	lapses = lease_sysfs("disk3", "lapses");
	late = lease_sysfs("disk3", "lapse_late_ns");
	KTAP_EXPECT(t, lapses == 1, "lapses %lld: the timer did not notice", lapses);
	ktap_diag("the timer ran %lld ns past the lapse instant", late);
	close(fd);
}

KTAP_TEST(unsynchronized_clock_fences)
{
	struct gnomon_lease_info l;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, grant_for("disk4", "", 1, 600 * SEC, 0) == 0, "grant");
	KTAP_ASSERT(t, get("disk4").state == GNOMON_LEASE_HELD, "held");
	KTAP_ASSERT(t, discipline(fd, MS, 10 * SEC, GNOMON_DISC_UNSYNC) == 0, "unsync");
	/* The discipline call judged the leases before it returned. */
	KTAP_EXPECT(t, lease_sysfs("disk4", "lapses") == 1, "lapse not counted at once");
	l = get("disk4");
	KTAP_EXPECT(t, l.state == GNOMON_LEASE_CLOCK && verdict_fits(&l) &&
		    l.lapse_late_ns == 0, "state %u clock %u", l.state, l.clock_status);
	/* Synchronized again before the end: the lease holds again. */
	KTAP_ASSERT(t, discipline(fd, MS, 10 * SEC, 0) == 0, "resync");
	l = get("disk4");
	KTAP_EXPECT(t, l.state == GNOMON_LEASE_HELD && l.lapses == 1, "state %u", l.state);
	close(fd);
}

KTAP_TEST(clock_step_fences)
{
	struct gnomon_lease_info l;
	struct timespec ts;
	long long steps = sysfs_counter("clock_steps");

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, grant_for("disk5", "", 1, 600 * SEC, 0) == 0, "grant");
	KTAP_ASSERT(t, get("disk5").state == GNOMON_LEASE_HELD, "held");
	/* Setting the clock, even to (almost) the same time, is a step. */
	clock_gettime(CLOCK_REALTIME, &ts);
	KTAP_ASSERT(t, clock_settime(CLOCK_REALTIME, &ts) == 0, "settime: %s", strerror(errno));
	l = get("disk5");
	KTAP_EXPECT(t, l.state == GNOMON_LEASE_CLOCK && l.clock_status == GNOMON_STATUS_DISRUPTED,
		    "state %u clock %u after a step", l.state, l.clock_status);
	KTAP_EXPECT(t, l.lapses == 1 && sysfs_counter("clock_steps") == steps + 1,
		    "lapses %llu", (unsigned long long)l.lapses);
	KTAP_ASSERT(t, discipline(fd, MS, 10 * SEC, 0) == 0, "resync");
	KTAP_EXPECT(t, get("disk5").state == GNOMON_LEASE_HELD, "held after the resync");
	close(fd);
}

KTAP_TEST(free_running_still_holds)
{
	struct gnomon_config cfg = { .freerun_intervals = 1 };
	struct gnomon_config back = { .freerun_intervals = GNOMON_DEFAULT_FREERUN_INTERVALS };
	struct gnomon_lease_info l;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, xioctl(fd, GNOMON_IOC_SET_CONFIG, &cfg) == 0, "config");
	KTAP_ASSERT(t, discipline(fd, MS, 100 * MS, 0) == 0, "discipline");
	KTAP_ASSERT(t, grant_for("disk6", "", 1, 600 * SEC, 0) == 0, "grant");
	sleep_ns(300 * MS);
	l = get("disk6");
	KTAP_EXPECT(t, l.clock_status == GNOMON_STATUS_FREE_RUNNING &&
		    l.state == GNOMON_LEASE_HELD && verdict_fits(&l),
		    "clock %u state %u", l.clock_status, l.state);
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_SET_CONFIG, &back) == 0, "config back");
	close(fd);
}

static int nobody_grants(void)
{
	struct gnomon_lease_info info;
	int r;

	fd = dev_open();
	if (fd < 0)
		return 10;
	if (grant_for("disk7", "", 2, 60 * SEC, 0) != -EPERM ||
	    lease_call(GNOMON_IOC_LEASE_RENEW, "disk7", "", 1, read_tt(fd).latest_ns + SEC, 0) != -EPERM ||
	    lease_call(GNOMON_IOC_LEASE_RELEASE, "disk7", "", 1, 0, 0) != -EPERM)
		return 11;
	if (get("disk7").token != 1)
		return 12;
	memset(&info, 0, sizeof(info));
	r = xioctl(fd, GNOMON_IOC_LEASE_NEXT, &info);
	return r ? 13 : 0;
}

KTAP_TEST(unprivileged_refused)
{
	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, grant_for("disk7", "", 1, 60 * SEC, 0) == 0, "grant");
	KTAP_EXPECT(t, as_nobody(nobody_grants) == 0, "nobody: status %d", as_nobody(nobody_grants));
	KTAP_EXPECT(t, get("disk7").state == GNOMON_LEASE_HELD, "still held");
	close(fd);
}

KTAP_TEST(bad_input)
{
	static const char *const names[] = { "", ".", "..", "a/b", "a b", "x\n" };
	struct gnomon_lease_req r;
	__u64 end;
	size_t i;

	KTAP_ASSERT(t, setup() == 0, "setup");
	end = read_tt(fd).latest_ns + SEC;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_GRANT, names[i], "", 1, end, 0) == -EINVAL,
			    "name '%s'", names[i]);
	r = req("ok", "", 1, end, 0);
	memset(r.name, 'a', sizeof(r.name));
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_LEASE_GRANT, &r) == -EINVAL, "name without NUL");
	r = req("ok", "", 1, end, 0);
	r.name[10] = 'z';
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_LEASE_GRANT, &r) == -EINVAL, "bytes after the NUL");
	r = req("ok", "tab\there", 1, end, 0);
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_LEASE_GRANT, &r) == -EINVAL, "holder with a tab");
	r = req("ok", "", 1, end, 0);
	r.flags = 1;
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_LEASE_GRANT, &r) == -EINVAL, "flags");
	r = req("ok", "", 1, end, 0);
	r.__pad = 1;
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_LEASE_GRANT, &r) == -EINVAL, "pad");
	r = req("ok", "", 1, end, 0);
	r.__reserved[1] = 1;
	KTAP_EXPECT(t, xioctl(fd, GNOMON_IOC_LEASE_GRANT, &r) == -EINVAL, "reserved");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_GRANT, "ok", "", 1, 0, 0) == -EINVAL, "end 0");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_GRANT, "ok", "", 1, end,
				  GNOMON_LEASE_MAX_MARGIN_NS + 1) == -EINVAL, "margin");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RELEASE, "ok", "", 1, end, 0) == -EINVAL,
		    "release with an end");
	KTAP_EXPECT(t, get("ok").state == 0xff && errno == ENOENT, "nothing was created");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RENEW, "ok", "", 1, end, 0) == -ENOENT,
		    "renew of nothing");
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_RELEASE, "ok", "", 1, 0, 0) == -ENOENT,
		    "release of nothing");
	KTAP_EXPECT(t, xioctl(fd, _IOWR(GNOMON_IOC_TYPE, 0x1f, struct gnomon_lease_info), &r) ==
		    -ENOTTY, "unknown command");
	/* A grant whose end has passed is kept (the token counts) but does
	 * not hold. */
	KTAP_EXPECT(t, lease_call(GNOMON_IOC_LEASE_GRANT, "past", "", 1, 1, 0) == 0 &&
		    get("past").state == GNOMON_LEASE_EXPIRED, "a grant in the past");
	close(fd);
}

KTAP_TEST(list_in_name_order)
{
	struct gnomon_lease_info info;
	char prev[GNOMON_LEASE_NAME_MAX] = "";
	int n = 0, r;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, grant_for("zz-last", "", 1, 60 * SEC, 0) == 0 &&
		    grant_for("aa-first", "", 1, 60 * SEC, 0) == 0, "grants");
	memset(&info, 0, sizeof(info));
	for (;;) {
		r = xioctl(fd, GNOMON_IOC_LEASE_NEXT, &info);
		if (r)
			break;
		KTAP_EXPECT(t, strcmp(info.name, prev) > 0, "%s after %s", info.name, prev);
		memcpy(prev, info.name, sizeof(prev));
		n++;
		KTAP_ASSERT(t, n <= GNOMON_LEASE_MAX_RESOURCES, "no end to the list");
		memset(info.holder, 0, sizeof(info) - sizeof(info.name));
	}
	KTAP_EXPECT(t, r == -ENOENT && n >= 2 && !strcmp(prev, "zz-last"),
		    "r %d n %d last %s", r, n, prev);
	close(fd);
}

KTAP_TEST(reload_forgets)
{
	struct stat st;

	KTAP_ASSERT(t, setup() == 0, "setup");
	KTAP_ASSERT(t, grant_for("disk8", "", 9, 60 * SEC, 0) == 0, "grant");
	close(fd);
	KTAP_ASSERT(t, module_reload() == 0, "reload");
	KTAP_ASSERT(t, setup() == 0, "setup again");
	KTAP_EXPECT(t, get("disk8").state == 0xff && errno == ENOENT, "disk8 survived");
	KTAP_EXPECT(t, stat(LEASES, &st) == 0 && stat(LEASES "disk8", &st) < 0,
		    "sysfs leases/ missing or disk8 still there");
	/* After a reload the floor is gone: any token grants afresh. */
	KTAP_EXPECT(t, grant_for("disk8", "", 1, 60 * SEC, 0) == 0, "grant 1 after reload");
	close(fd);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
