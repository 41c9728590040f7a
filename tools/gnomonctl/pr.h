/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SCSI-3 persistent reservations keyed by a fencing token: a small library
 * for gnomonctl's `fence pr` and for the fencing agent.  Every function
 * returns 0 or -errno; a RESERVATION CONFLICT from the device is -EBADE
 * (the errno the block layer gives BLK_STS_RESV_CONFLICT).
 */
#ifndef GNOMONCTL_PR_H
#define GNOMONCTL_PR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The reservation type a new holder takes: WRITE EXCLUSIVE - REGISTRANTS ONLY. */
#define PR_FENCE_TYPE	3	/* enum pr_type PR_WRITE_EXCLUSIVE_REG_ONLY */

/*
 * A device opened for reservations.  For a device-mapper device with one
 * underlying device (a gnomon-fence table), `lower` is that device: the
 * reservation ioctls go to the dm device first and to `lower` only when
 * dm refuses to pass them on (-ENOTTY: CLEAR needs prepare_ioctl), except
 * PREEMPT AND ABORT, which dm would send as a plain PREEMPT: it always
 * goes to `lower`.  PERSISTENT RESERVE IN, which has no ioctl, is sent
 * with SG_IO to `lower`.  A reservation command changes no sector, so it
 * going to the underlying device lets no write around the fence.
 */
struct pr_dev {
	int fd;
	int lower_fd;			/* -1 when not a dm device */
	char lower[280];		/* e.g. "/dev/sda" */
	bool used_lower;		/* a command since open went to lower */
};

struct pr_keys {
	uint32_t generation;
	size_t nr;			/* registered keys, may exceed max */
	uint64_t keys[32];
};

struct pr_reservation_info {
	uint32_t generation;
	bool held;
	uint64_t key;
	unsigned int scsi_type;		/* SPC type: 5 = WE - registrants only */
};

int pr__open(const char *path, struct pr_dev *dev);
void pr__close(struct pr_dev *dev);

/* REGISTER AND IGNORE EXISTING KEY: this host's key becomes KEY (0 unregisters). */
int pr__register(struct pr_dev *dev, uint64_t key);
int pr__reserve(struct pr_dev *dev, uint64_t key, unsigned int type);
int pr__release(struct pr_dev *dev, uint64_t key, unsigned int type);
/* PREEMPT AND ABORT: remove VICTIM's registration and abort its commands. */
int pr__preempt_abort(struct pr_dev *dev, uint64_t key, uint64_t victim,
		      unsigned int type);
int pr__clear(struct pr_dev *dev, uint64_t key);

/* PREEMPT without ABORT: the victim's queued commands may still run. */
int pr__preempt(struct pr_dev *dev, uint64_t key, uint64_t victim,
		unsigned int type);

/*
 * The takeover with token T: register T, preempt every other registered
 * key (PREEMPT AND ABORT; a plain PREEMPT when ABORT is false), the
 * reservation passing to T with its holder's key, then reserve WRITE
 * EXCLUSIVE - REGISTRANTS ONLY (a no-op for the holder).  The keys come
 * from READ KEYS, read again until T is the only one; on a device that
 * cannot be read, PREVIOUS alone is preempted (when it is not 0).  The
 * keys preempted are put in PREEMPTED when it is not NULL.
 */
int pr__takeover(struct pr_dev *dev, uint64_t token, uint64_t previous,
		 bool abort, struct pr_keys *preempted);

int pr__read_keys(struct pr_dev *dev, struct pr_keys *out);
int pr__read_reservation(struct pr_dev *dev, struct pr_reservation_info *out);

/* The name of an SPC reservation type ("write-exclusive-registrants-only"). */
const char *pr__scsi_type_name(unsigned int scsi_type);

#endif /* GNOMONCTL_PR_H */
