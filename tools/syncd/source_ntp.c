// SPDX-License-Identifier: GPL-2.0
/*
 * The chrony / ntpd source: read the kernel's NTP state with adjtimex(2)
 * (a read-only call, modes 0) and let ntp_model.c judge it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#include "log.h"
#include "ntp_model.h"
#include "syncd.h"

struct syncd_source {
	struct ntp_tracker tracker;
	int last_unsync;	/* -1 before the first poll */
};

static int ntp_open(struct syncd_source **src, const struct syncd_options *opt)
{
	struct syncd_source *s = calloc(1, sizeof(*s));

	(void)opt;
	if (!s)
		return -ENOMEM;
	s->last_unsync = -1;
	*src = s;
	return 0;
}

static int ntp_sample(struct syncd_source *src, struct gnomon_discipline *d)
{
	struct timex tx;
	struct ntp_reading r;
	int state, ret, unsync;

	memset(&tx, 0, sizeof(tx));
	state = adjtimex(&tx);
	if (state < 0) {
		ret = -errno;
		syncd_err("adjtimex: %s", strerror(errno));
		return ret;
	}
	r = (struct ntp_reading){
		.state = state,
		.status = tx.status,
		.maxerror_us = tx.maxerror,
		.esterror_us = tx.esterror,
		.offset = tx.offset,
		.mono_ns = syncd_mono_ns(),
		.real_ns = syncd_real_ns(),
	};
	ret = ntp_model__assess(&src->tracker, &r, d);
	if (ret) {
		syncd_err("adjtimex returned an impossible maxerror %ld",
			  tx.maxerror);
		return ret;
	}
	unsync = !!(d->flags & GNOMON_DISC_UNSYNC);
	if (unsync != src->last_unsync) {
		if (unsync)
			syncd_warn("kernel NTP state is unsynchronised (status 0x%x, state %d)",
				   tx.status, state);
		else
			syncd_info("kernel NTP state is synchronised");
		src->last_unsync = unsync;
	}
	if (d->flags & GNOMON_DISC_DISRUPTED)
		syncd_warn("CLOCK_REALTIME was stepped: marking the clock disrupted");
	syncd_debug("ntp: maxerror %ld us, esterror %ld us, offset %ld, error %llu ns",
		    tx.maxerror, tx.esterror, tx.offset,
		    (unsigned long long)d->error_ns);
	return 0;
}

static void ntp_close(struct syncd_source *src)
{
	free(src);
}

const struct syncd_source_ops syncd_ntp_source = {
	.name = "chrony",
	.open = ntp_open,
	.sample = ntp_sample,
	.close = ntp_close,
};
