// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of gnomon-syncd's error models with crafted readings: the
 * adjtimex (chrony/ntpd) model, the ptp4l model, the PHC window choice and
 * the duration parser.  Every update the models produce must also pass the
 * kernel's own gnomon_discipline_check().
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/timex.h>

#include "../ktap.h"
#include "gnomon_core.h"
#include "../../tools/syncd/ntp_model.h"
#include "../../tools/syncd/options.h"
#include "../../tools/syncd/phc.h"
#include "../../tools/syncd/ptp_model.h"

#define MONO	(5000 * GNOMON_NSEC_PER_SEC)
#define REAL	(1700000000 * GNOMON_NSEC_PER_SEC)

/* The update must be acceptable to the kernel (with interval filled in). */
static bool kernel_accepts(struct gnomon_discipline d, uint64_t mono)
{
	struct gnomon_page page;

	memset(&page, 0, sizeof(page));
	gnomon_page_init(&page);
	d.interval_ns = GNOMON_NSEC_PER_SEC;
	return gnomon_discipline_check(&page, &d, mono) == 0;
}

static struct ntp_reading synced(long maxerror_us)
{
	return (struct ntp_reading){
		.state = TIME_OK, .status = STA_PLL, .maxerror_us = maxerror_us,
		.esterror_us = 10, .mono_ns = MONO, .real_ns = REAL,
	};
}

KTAP_TEST(ntp_synced_error_is_maxerror)
{
	struct ntp_tracker tr = { 0 };
	struct ntp_reading r = synced(1500);
	struct gnomon_discipline d = { 0 };

	KTAP_ASSERT(t, ntp_model__assess(&tr, &r, &d) == 0, "assess");
	KTAP_EXPECT(t, d.error_ns == 1500000, "error %llu",
		    (unsigned long long)d.error_ns);
	KTAP_EXPECT(t, d.flags == 0, "flags %x", d.flags);
	KTAP_EXPECT(t, d.as_of_ns == MONO && d.source == GNOMON_SOURCE_NTP,
		    "as_of/source");
	KTAP_EXPECT(t, kernel_accepts(d, MONO), "kernel refuses");
}

KTAP_TEST(ntp_pll_offset_adds_in_its_unit)
{
	struct ntp_tracker tr = { 0 };
	struct ntp_reading r = synced(100);
	struct gnomon_discipline d = { 0 };

	r.offset = -200;			/* microseconds */
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, d.error_ns == 100000 + 200000, "us: %llu",
		    (unsigned long long)d.error_ns);
	r.status |= STA_NANO;			/* nanoseconds */
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, d.error_ns == 100000 + 200, "ns: %llu",
		    (unsigned long long)d.error_ns);
}

KTAP_TEST(ntp_unsync_and_time_error)
{
	struct ntp_tracker tr = { 0 };
	struct ntp_reading r = synced(100);
	struct gnomon_discipline d = { 0 };

	r.status |= STA_UNSYNC;
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, d.flags & GNOMON_DISC_UNSYNC, "STA_UNSYNC ignored");
	r = synced(100);
	r.state = TIME_ERROR;
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, d.flags & GNOMON_DISC_UNSYNC, "TIME_ERROR ignored");
	r = synced(100);
	r.state = TIME_INS;			/* leap second pending: still fine */
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, !(d.flags & GNOMON_DISC_UNSYNC), "TIME_INS is unsync");
}

KTAP_TEST(ntp_step_marks_disrupted_once)
{
	struct ntp_tracker tr = { 0 };
	struct ntp_reading r = synced(100);
	struct gnomon_discipline d = { 0 };

	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, !(d.flags & GNOMON_DISC_DISRUPTED), "first poll");
	/* One second later, slewed by 100 us: not a step. */
	r.mono_ns += GNOMON_NSEC_PER_SEC;
	r.real_ns += GNOMON_NSEC_PER_SEC + 100000;
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, !(d.flags & GNOMON_DISC_DISRUPTED), "slew taken for step");
	/* Stepped back by 5 ms. */
	r.mono_ns += GNOMON_NSEC_PER_SEC;
	r.real_ns += GNOMON_NSEC_PER_SEC - 5000000;
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, d.flags & GNOMON_DISC_DISRUPTED, "step back missed");
	r.mono_ns += GNOMON_NSEC_PER_SEC;
	r.real_ns += GNOMON_NSEC_PER_SEC;
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, !(d.flags & GNOMON_DISC_DISRUPTED), "disrupted twice");
	/* Stepped forward by 2 s. */
	r.mono_ns += GNOMON_NSEC_PER_SEC;
	r.real_ns += 3 * GNOMON_NSEC_PER_SEC;
	ntp_model__assess(&tr, &r, &d);
	KTAP_EXPECT(t, d.flags & GNOMON_DISC_DISRUPTED, "step forward missed");
}

KTAP_TEST(ntp_extremes_clamp_or_fail)
{
	struct ntp_tracker tr = { 0 };
	struct ntp_reading r = synced(LONG_MAX);
	struct gnomon_discipline d = { 0 };

	r.offset = LONG_MIN;
	KTAP_ASSERT(t, ntp_model__assess(&tr, &r, &d) == 0, "assess");
	KTAP_EXPECT(t, d.error_ns == GNOMON_MAX_ERROR_NS, "error %llu",
		    (unsigned long long)d.error_ns);
	KTAP_EXPECT(t, kernel_accepts(d, MONO), "kernel refuses a clamped error");
	r = synced(-1);
	KTAP_EXPECT(t, ntp_model__assess(&tr, &r, &d) == -EINVAL,
		    "negative maxerror accepted");
}

static struct ptp_observation slave(int64_t offset, int64_t delay_ns)
{
	return (struct ptp_observation){
		.time_status = {
			.master_offset_ns = offset,
			.ingress_time_ns = (int64_t)REAL - 250000000,
			.gm_present = 1,
		},
		.current = {
			.offset_scaled = offset * 65536,
			.path_delay_scaled = delay_ns * 65536,
		},
		.port_state = PMC_PS_SLAVE,
		.clock_now_ns = (int64_t)REAL,
		.mono_ns = MONO,
	};
}

KTAP_TEST(ptp_slave_error_model)
{
	struct ptp_model_params p = { .asymmetry_ns = -1 };
	struct ptp_observation o = slave(-300, 2000);
	struct gnomon_discipline d = { 0 };
	const char *why = "unset";

	ptp_model__assess(&o, &p, &d, &why);
	KTAP_EXPECT(t, why == NULL, "unsync: %s", why);
	KTAP_EXPECT(t, d.flags == 0 && d.source == GNOMON_SOURCE_PTP, "flags");
	KTAP_EXPECT(t, d.error_ns == 300 + 2000, "error %llu",
		    (unsigned long long)d.error_ns);
	/* Measured at the Sync's ingress, 250 ms before now. */
	KTAP_EXPECT(t, d.as_of_ns == MONO - 250000000, "as_of %llu",
		    (unsigned long long)d.as_of_ns);
	KTAP_EXPECT(t, kernel_accepts(d, MONO), "kernel refuses");

	p.asymmetry_ns = 100;
	ptp_model__assess(&o, &p, &d, NULL);
	KTAP_EXPECT(t, d.error_ns == 400, "declared asymmetry: %llu",
		    (unsigned long long)d.error_ns);

	/* CURRENT_DATA_SET's offset is larger (and fractional): it wins. */
	o.current.offset_scaled = -(900LL * 65536 + 1);
	ptp_model__assess(&o, &p, &d, NULL);
	KTAP_EXPECT(t, d.error_ns == 901 + 100, "larger offset: %llu",
		    (unsigned long long)d.error_ns);
}

KTAP_TEST(ptp_phc_term)
{
	struct ptp_model_params p = { .asymmetry_ns = 0 };
	struct ptp_observation o = slave(50, 1000);
	struct gnomon_discipline d = { 0 };

	o.have_phc = true;
	o.phc_offset_ns = -700;
	o.phc_window_ns = 301;
	ptp_model__assess(&o, &p, &d, NULL);
	KTAP_EXPECT(t, d.error_ns == 50 + 700 + 151, "error %llu",
		    (unsigned long long)d.error_ns);
}

KTAP_TEST(ptp_unsync_states)
{
	struct ptp_model_params p = { .asymmetry_ns = -1 };
	static const uint8_t bad[] = {
		PMC_PS_INITIALIZING, PMC_PS_FAULTY, PMC_PS_DISABLED,
		PMC_PS_LISTENING, PMC_PS_PRE_MASTER, PMC_PS_PASSIVE,
		PMC_PS_UNCALIBRATED, 0, 200,
	};
	struct gnomon_discipline d = { 0 };
	struct ptp_observation o;
	const char *why;

	for (size_t i = 0; i < sizeof(bad); i++) {
		o = slave(10, 10);
		o.port_state = bad[i];
		why = NULL;
		ptp_model__assess(&o, &p, &d, &why);
		KTAP_EXPECT(t, (d.flags & GNOMON_DISC_UNSYNC) && why,
			    "state %u counted as synchronised", bad[i]);
	}
	o = slave(10, 10);
	o.time_status.ingress_time_ns = 0;
	ptp_model__assess(&o, &p, &d, &why);
	KTAP_EXPECT(t, d.flags & GNOMON_DISC_UNSYNC, "slave without a Sync");
	o = slave(10, 10);
	o.time_status.gm_present = 0;
	ptp_model__assess(&o, &p, &d, &why);
	KTAP_EXPECT(t, d.flags & GNOMON_DISC_UNSYNC, "slave without a GM");
	o = slave(10, 10);
	o.port_state = PMC_PS_MASTER;		/* master of someone else's GM */
	ptp_model__assess(&o, &p, &d, &why);
	KTAP_EXPECT(t, d.flags & GNOMON_DISC_UNSYNC, "boundary master");
}

KTAP_TEST(ptp_grandmaster_is_synchronised)
{
	struct ptp_model_params p = { .asymmetry_ns = -1 };
	struct ptp_observation o = slave(0, 0);
	struct gnomon_discipline d = { 0 };
	const char *why = "unset";

	o.port_state = PMC_PS_MASTER;
	o.time_status.gm_present = 0;
	ptp_model__assess(&o, &p, &d, &why);
	KTAP_EXPECT(t, !why && !d.flags, "grandmaster unsync: %s", why);
	KTAP_EXPECT(t, d.as_of_ns == MONO, "as_of %llu",
		    (unsigned long long)d.as_of_ns);
}

KTAP_TEST(ptp_ingress_timescales)
{
	struct ptp_model_params p = { .asymmetry_ns = -1 };
	struct ptp_observation o = slave(1, 1);
	struct gnomon_discipline d = { 0 };

	/* A TAI ingress against a UTC "now": never in the future. */
	o.time_status.ingress_time_ns = (int64_t)REAL + 37 * 1000000000LL;
	ptp_model__assess(&o, &p, &d, NULL);
	KTAP_EXPECT(t, d.as_of_ns == MONO, "future ingress: %llu",
		    (unsigned long long)d.as_of_ns);
	/* An ingress older than boot: the oldest instant the kernel takes. */
	o.time_status.ingress_time_ns = 1;
	ptp_model__assess(&o, &p, &d, NULL);
	KTAP_EXPECT(t, d.as_of_ns == 1 && kernel_accepts(d, MONO),
		    "ancient ingress: %llu", (unsigned long long)d.as_of_ns);
}

KTAP_TEST(ptp_best_port_state)
{
	KTAP_EXPECT(t, ptp_model__best_state(PMC_PS_LISTENING, PMC_PS_SLAVE) ==
		    PMC_PS_SLAVE, "slave");
	KTAP_EXPECT(t, ptp_model__best_state(PMC_PS_SLAVE, PMC_PS_MASTER) ==
		    PMC_PS_SLAVE, "slave over master");
	KTAP_EXPECT(t, ptp_model__best_state(PMC_PS_FAULTY, PMC_PS_MASTER) ==
		    PMC_PS_MASTER, "master over faulty");
}

KTAP_TEST(phc_picks_narrowest_window)
{
	const struct phc_sample s[] = {
		{ .before_ns = 1000, .phc_ns = 38000001600, .after_ns = 2000 },
		{ .before_ns = 3000, .phc_ns = 38000003200, .after_ns = 3300 },
		{ .before_ns = 5000, .phc_ns = 38000004000, .after_ns = 4000 },
		{ .before_ns = 6000, .phc_ns = 38000006500, .after_ns = 6600 },
	};
	struct phc_offset o;

	KTAP_ASSERT(t, phc_offset__pick(s, 4, &o) == 0, "pick");
	KTAP_EXPECT(t, o.window_ns == 300, "window %llu",
		    (unsigned long long)o.window_ns);
	KTAP_EXPECT(t, o.offset_ns == 38000003200 - 3150, "offset %lld",
		    (long long)o.offset_ns);
	KTAP_EXPECT(t, phc_offset__pick(s + 2, 1, &o) == -EINVAL,
		    "inverted window accepted");
	KTAP_EXPECT(t, phc_offset__pick(s, 0, &o) == -EINVAL, "no samples");
}

KTAP_TEST(durations)
{
	static const struct { const char *s; uint64_t ns; } good[] = {
		{ "1", 1000000000 }, { "250ms", 250000000 }, { "1.5s", 1500000000 },
		{ "100us", 100000 }, { "10ns", 10 }, { "0.2", 200000000 },
	};
	static const char *const bad[] = { "", "x", "-1", "5m", "1s ", "nan", "1e30" };
	uint64_t ns;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		KTAP_EXPECT(t, syncd_parse_duration(good[i].s, &ns) == 0 &&
			    ns == good[i].ns, "'%s'", good[i].s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		KTAP_EXPECT(t, syncd_parse_duration(bad[i], &ns) < 0,
			    "'%s' accepted", bad[i]);
}

int main(int argc, char **argv)
{
	return ktap_main(argc, argv);
}
