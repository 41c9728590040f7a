/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libgnomon: bounded-uncertainty time (TT.now) and a hybrid logical clock.
 *
 * A client answers from the best source it can find, in this order:
 *
 *   GNOMON_FROM_KERNEL   /dev/gnomon: the mapped page for TT.now(), ioctls
 *                        for the host-wide HLC and commit-wait.
 *   GNOMON_FROM_AGENT    the shared-memory file gnomon-syncd writes when the
 *                        module is not loaded (same layout as the page).
 *   GNOMON_FROM_ADJTIMEX the kernel's NTP state: bound = maxerror.
 *
 * Without the kernel the HLC is per process (GNOMON_HLC_PROCESS), which still
 * orders every event of this process after everything it has seen.
 * Every call reports which source answered.  Every function returns 0 or a
 * negative errno.  A client may be shared by threads.
 *
 * Environment: GNOMON_DEVICE overrides /dev/gnomon, GNOMON_SHM overrides
 * /run/gnomon/clock.
 */
#ifndef GNOMON_H
#define GNOMON_H

#include <stdint.h>
#include <linux/gnomon.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GNOMON_SHM_PATH	"/run/gnomon/clock"

/* libgnomon is built with hidden visibility: these are all it exports
 * (lib/libgnomon.map names the same set). */
#define GNOMON_API	__attribute__((visibility("default")))

enum gnomon_time_source {
	GNOMON_FROM_KERNEL	= 0,
	GNOMON_FROM_AGENT	= 1,
	GNOMON_FROM_ADJTIMEX	= 2,
};

enum gnomon_hlc_scope {
	GNOMON_HLC_HOST		= 0,	/* the kernel's clock, shared */
	GNOMON_HLC_PROCESS	= 1,	/* this process only */
};

/* gnomon_client__open() flags: skip sources (tests, diagnostics). */
#define GNOMON_OPEN_NO_KERNEL	(1U << 0)
#define GNOMON_OPEN_NO_AGENT	(1U << 1)

struct gnomon_client;

GNOMON_API int gnomon_client__open(struct gnomon_client **client,
				   unsigned int flags);
GNOMON_API void gnomon_client__close(struct gnomon_client *client);

GNOMON_API enum gnomon_time_source
gnomon_client__source(const struct gnomon_client *client);
GNOMON_API enum gnomon_hlc_scope
gnomon_client__hlc_scope(const struct gnomon_client *client);
GNOMON_API const char *gnomon_time_source__name(enum gnomon_time_source source);
GNOMON_API const char *gnomon_hlc_scope__name(enum gnomon_hlc_scope scope);
GNOMON_API const char *gnomon_status__name(uint32_t status);
GNOMON_API const char *gnomon_clock_source__name(uint32_t source);

/* TT.now().  A damaged agent file never hangs or kills the caller: a page
 * left mid-update reads as DISRUPTED, a truncated or garbled one as
 * UNSYNCHRONIZED, until a valid page is back. */
GNOMON_API int gnomon_client__now(struct gnomon_client *client,
				  struct gnomon_tt *now);

/* HLC: a local or send event; merge a received timestamp (-ERANGE if it is
 * further ahead than the configured max offset beyond TT.now().latest). */
GNOMON_API int gnomon_client__hlc_tick(struct gnomon_client *client,
				       struct gnomon_hlc *ts);
GNOMON_API int gnomon_client__hlc_update(struct gnomon_client *client,
					 const struct gnomon_hlc *remote,
					 struct gnomon_hlc *ts);
GNOMON_API int gnomon_hlc__compare(const struct gnomon_hlc *a,
				   const struct gnomon_hlc *b);

/* Commit-wait: return once TT.now().earliest > until_ns.  timeout_ns 0 waits
 * without a limit; -ETIMEDOUT when it runs out, -EINTR on a signal. */
GNOMON_API int gnomon_client__wait_until(struct gnomon_client *client,
					 uint64_t until_ns, uint64_t timeout_ns);

/* Kernel only (-ENODEV otherwise); CAP_SYS_TIME (-EPERM otherwise).
 * Padding, flags and reserved fields must be zero (-EINVAL). */
GNOMON_API int gnomon_client__discipline(struct gnomon_client *client,
					 const struct gnomon_discipline *update);
GNOMON_API int gnomon_client__set_config(struct gnomon_client *client,
					 const struct gnomon_config *config);
/* Kernel or agent; -ENODEV from adjtimex, -EPROTO while the agent's file
 * holds no consistent page.  Flags and reserved fields come back zero. */
GNOMON_API int gnomon_client__get_config(struct gnomon_client *client,
					 struct gnomon_config *config);
/* What disciplined the clock last (enum gnomon_source; adjtimex: NTP;
 * GNOMON_SOURCE_NONE while the agent's file holds no consistent page). */
GNOMON_API uint32_t gnomon_client__clock_source(struct gnomon_client *client);

#ifdef __cplusplus
}
#endif

#endif /* GNOMON_H */
