// SPDX-License-Identifier: GPL-2.0
/*
 * Persistent reservations for fencing, keyed by token (see pr.h).
 *
 * PERSISTENT RESERVE OUT goes through the kernel's IOC_PR_* ioctls, which
 * sd and nvme implement and device mapper passes to the one device of a
 * single-target table.  dm passes REGISTER, RESERVE, RELEASE and PREEMPT
 * through iterate_devices (measured on Debian's 6.1.0-57 and 6.12: see
 * Documentation/fencing.rst); the rest needs the target's prepare_ioctl,
 * which gnomon-fence deliberately lacks, so dm answers -ENOTTY and we send
 * the command to the underlying device.
 * PREEMPT AND ABORT always goes to the underlying device: dm passes it on
 * as a plain PREEMPT (pr__preempt_abort()).
 *
 * The kernel has no ioctl for PERSISTENT RESERVE IN on these kernels: READ
 * KEYS and READ RESERVATION are SG_IO commands to the SCSI device.
 *
 * sd sets APTPL (persist through power loss) in every REGISTER it sends.
 * A target without APTPL (tgt, Debian's userspace iSCSI target) answers
 * that with ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST, which the
 * ioctl reports as a bare CHECK CONDITION (-EIO) on 6.1 and as -EINVAL on
 * 6.12: the registration is then sent again with SG_IO and APTPL off, as
 * fence_scsi sends it.  Such a registration, and the
 * reservation on it, is lost if the target loses power; the kernel lease
 * still fences, and the next takeover registers again.
 *
 * The pr ioctls report a device's SCSI status as a positive return value
 * (6.1: the raw result; 6.12: enum pr_status, where a RESERVATION CONFLICT
 * is 0x18 either way): mapped here to -EBADE for a conflict, -EIO otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/pr.h>
#include <scsi/sg.h>

#include "pr.h"

#define SCSI_STATUS_CHECK_CONDITION		0x02
#define SCSI_STATUS_RESERVATION_CONFLICT	0x18
#define PR_IN_OPCODE				0x5e
#define PR_IN_READ_KEYS				0x00
#define PR_IN_READ_RESERVATION			0x01
#define PR_OUT_OPCODE				0x5f
#define PR_OUT_REGISTER_IGNORE			0x06
#define PR_OUT_PARAM_LEN			24
#define PR_TAKEOVER_ROUNDS			4

/* The single underlying device of dm device FD, or -ENOENT. */
static int pr_find_lower(int fd, char *out, size_t len)
{
	char path[96];
	struct dirent *de;
	struct stat st;
	int found = 0;
	DIR *dir;

	if (fstat(fd, &st) || !S_ISBLK(st.st_mode))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm",
		 major(st.st_rdev), minor(st.st_rdev));
	if (access(path, F_OK))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/slaves",
		 major(st.st_rdev), minor(st.st_rdev));
	dir = opendir(path);
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (found++ == 0)
			snprintf(out, len, "/dev/%s", de->d_name);
	}
	closedir(dir);
	return found == 1 ? 0 : -ENOENT;
}

int pr__open(const char *path, struct pr_dev *dev)
{
	memset(dev, 0, sizeof(*dev));
	dev->lower_fd = -1;
	dev->fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0)
		return -errno;
	if (pr_find_lower(dev->fd, dev->lower, sizeof(dev->lower)) == 0) {
		dev->lower_fd = open(dev->lower, O_RDWR | O_CLOEXEC);
		if (dev->lower_fd < 0) {
			int err = -errno;

			close(dev->fd);
			return err;
		}
	}
	return 0;
}

void pr__close(struct pr_dev *dev)
{
	if (dev->lower_fd >= 0)
		close(dev->lower_fd);
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = dev->lower_fd = -1;
}

/* One SCSI command with SG_IO to the SCSI device (the lower one of a dm
 * device); a CHECK CONDITION, which is how a UNIT ATTENTION is reported
 * once, is tried again, twice at most.  BUF is cleared before a read. */
static int pr_sgio(struct pr_dev *dev, unsigned char *cdb, unsigned int cdb_len,
		   int direction, unsigned char *buf, unsigned int len)
{
	unsigned char sense[32];
	struct sg_io_hdr io = {
		.interface_id = 'S',
		.dxfer_direction = direction,
		.cmd_len = (unsigned char)cdb_len,
		.mx_sb_len = sizeof(sense),
		.dxfer_len = len,
		.dxferp = buf,
		.cmdp = cdb,
		.sbp = sense,
		.timeout = 10000,
	};
	int fd = dev->lower_fd >= 0 ? dev->lower_fd : dev->fd;
	int i;

	for (i = 0; i < 3; i++) {
		if (direction == SG_DXFER_FROM_DEV)
			memset(buf, 0, len);
		if (ioctl(fd, SG_IO, &io) < 0)
			return -errno;
		if (io.status != SCSI_STATUS_CHECK_CONDITION)
			break;
	}
	if (io.status == SCSI_STATUS_RESERVATION_CONFLICT)
		return -EBADE;
	if (io.status || io.host_status || (io.driver_status & 0x0f))
		return -EIO;
	return 0;
}

/* PERSISTENT RESERVE IN. */
static int pr_in(struct pr_dev *dev, unsigned int action, unsigned char *buf,
		 unsigned int len)
{
	unsigned char cdb[10] = { PR_IN_OPCODE, (unsigned char)action, 0, 0, 0,
				  0, 0, (unsigned char)(len >> 8),
				  (unsigned char)len, 0 };

	return pr_sgio(dev, cdb, sizeof(cdb), SG_DXFER_FROM_DEV, buf, len);
}

static void put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* PERSISTENT RESERVE OUT REGISTER AND IGNORE EXISTING KEY with APTPL
 * off (see pr__register()). */
static int pr_register_sgio(struct pr_dev *dev, uint64_t key)
{
	unsigned char cdb[10] = { PR_OUT_OPCODE, PR_OUT_REGISTER_IGNORE, 0, 0, 0,
				  0, 0, 0, PR_OUT_PARAM_LEN, 0 };
	unsigned char param[PR_OUT_PARAM_LEN] = { 0 };

	put_be64(param + 8, key);
	return pr_sgio(dev, cdb, sizeof(cdb), SG_DXFER_TO_DEV, param,
		       sizeof(param));
}

static int pr_result(int ret)
{
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return 0;
	return (ret & 0xff) == SCSI_STATUS_RESERVATION_CONFLICT ? -EBADE : -EIO;
}

/*
 * One IOC_PR_* command.  A CHECK CONDITION is tried again, twice at most:
 * the first command on a path after a reset or a preemption reports a
 * UNIT ATTENTION, which clears it, and the ioctl gives no sense data to
 * tell it from other check conditions.
 */
static int pr_ioctl_once(int fd, unsigned long cmd, void *arg)
{
	int i, ret = 0;

	for (i = 0; i < 3; i++) {
		ret = ioctl(fd, cmd, arg);
		if (ret <= 0 || (ret & 0xff) == SCSI_STATUS_RESERVATION_CONFLICT)
			break;
	}
	return pr_result(ret);
}

/* An IOC_PR_* command: to the device, else (dm said -ENOTTY) to lower. */
static int pr_ioctl(struct pr_dev *dev, unsigned long cmd, void *arg)
{
	int err;

	err = pr_ioctl_once(dev->fd, cmd, arg);
	if ((err == -ENOTTY || err == -EOPNOTSUPP) && dev->lower_fd >= 0) {
		dev->used_lower = true;
		err = pr_ioctl_once(dev->lower_fd, cmd, arg);
	}
	return err;
}

int pr__register(struct pr_dev *dev, uint64_t key)
{
	struct pr_registration r = { .old_key = 0, .new_key = key,
				     .flags = PR_FL_IGNORE_KEY };
	int err;

	err = pr_ioctl(dev, IOC_PR_REGISTER, &r);
	if (err != -EIO && err != -EINVAL)
		return err;
	err = pr_register_sgio(dev, key);
	if (!err && dev->lower_fd >= 0)
		dev->used_lower = true;
	return err;
}

int pr__reserve(struct pr_dev *dev, uint64_t key, unsigned int type)
{
	struct pr_reservation r = { .key = key, .type = type };

	return pr_ioctl(dev, IOC_PR_RESERVE, &r);
}

int pr__release(struct pr_dev *dev, uint64_t key, unsigned int type)
{
	struct pr_reservation r = { .key = key, .type = type };

	return pr_ioctl(dev, IOC_PR_RELEASE, &r);
}

/*
 * Straight to the underlying device of a dm device: dm's pr_preempt
 * (passed through iterate_devices on 6.12 and on Debian's 6.1.0-57) drops
 * the abort flag and sends a plain PREEMPT, which leaves the victim's
 * queued commands to run (seen as "PREEMPT from Node" in LIO's log).
 */
int pr__preempt_abort(struct pr_dev *dev, uint64_t key, uint64_t victim,
		      unsigned int type)
{
	struct pr_preempt p = { .old_key = key, .new_key = victim, .type = type };

	if (dev->lower_fd < 0)
		return pr_ioctl(dev, IOC_PR_PREEMPT_ABORT, &p);
	dev->used_lower = true;
	return pr_ioctl_once(dev->lower_fd, IOC_PR_PREEMPT_ABORT, &p);
}

int pr__preempt(struct pr_dev *dev, uint64_t key, uint64_t victim,
		unsigned int type)
{
	struct pr_preempt p = { .old_key = key, .new_key = victim, .type = type };

	return pr_ioctl(dev, IOC_PR_PREEMPT, &p);
}

int pr__clear(struct pr_dev *dev, uint64_t key)
{
	struct pr_clear c = { .key = key };

	return pr_ioctl(dev, IOC_PR_CLEAR, &c);
}

static int pr_preempt_key(struct pr_dev *dev, uint64_t token, uint64_t victim,
			  bool abort)
{
	return abort ? pr__preempt_abort(dev, token, victim, PR_FENCE_TYPE) :
		       pr__preempt(dev, token, victim, PR_FENCE_TYPE);
}

static bool pr_keys_have(const uint64_t *keys, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i] == key)
			return true;
	return false;
}

static void pr_keys_add(struct pr_keys *set, uint64_t key)
{
	size_t max = sizeof(set->keys) / sizeof(set->keys[0]);
	size_t have = set->nr < max ? set->nr : max;

	if (pr_keys_have(set->keys, have, key))
		return;
	if (have < max)
		set->keys[have] = key;
	set->nr++;
}

/*
 * One round of the takeover: preempt each key of KEYS that is not TOKEN.
 * 1 when some were (read the keys again), 0 when TOKEN is the only key,
 * -EBADE when TOKEN is not registered any more (a newer holder preempted
 * us).  A RESERVATION CONFLICT on a preempt is a key that went between
 * the read and the preempt (or our own registration going): the next
 * round's read tells which.
 */
static int pr_preempt_others(struct pr_dev *dev, uint64_t token,
			     const struct pr_keys *keys, bool abort,
			     struct pr_keys *preempted)
{
	size_t max = sizeof(keys->keys) / sizeof(keys->keys[0]);
	size_t n = keys->nr < max ? keys->nr : max;
	int err, others = 0;

	if (keys->nr <= max && !pr_keys_have(keys->keys, n, token))
		return -EBADE;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = keys->keys[i];

		/* One key registered through several paths is listed once each. */
		if (k == token || pr_keys_have(keys->keys, i, k))
			continue;
		others = 1;
		err = pr_preempt_key(dev, token, k, abort);
		if (!err && preempted)
			pr_keys_add(preempted, k);
		else if (err && err != -EBADE)
			return err;
	}
	return others || keys->nr > n;
}

/*
 * WRITE EXCLUSIVE - REGISTRANTS ONLY lets every registrant write, so the
 * takeover must remove every key but TOKEN, not only the previous
 * holder's: an initiator left registered with a stale key would go on
 * writing.  A PREEMPT removes the registrations whose key is its SERVICE
 * ACTION RESERVATION KEY (and, when that is the holder's key, moves the
 * reservation to us); only the ALL REGISTRANTS types have a preempt that
 * removes every other registration at once.  So the keys are read (READ
 * KEYS, pr_in() below) and each other key preempted, round after round,
 * until TOKEN is the only key left; the last read is the proof.  A device
 * that cannot be read (no PERSISTENT RESERVE IN: not SCSI) gets the old
 * behaviour, PREVIOUS alone preempted.
 */
int pr__takeover(struct pr_dev *dev, uint64_t token, uint64_t previous,
		 bool abort, struct pr_keys *preempted)
{
	struct pr_keys keys;
	int err, round;

	if (!token)
		return -EINVAL;
	if (preempted)
		memset(preempted, 0, sizeof(*preempted));
	err = pr__register(dev, token);
	if (err)
		return err;
	if (pr__read_keys(dev, &keys)) {
		if (!previous || previous == token)
			return pr__reserve(dev, token, PR_FENCE_TYPE);
		err = pr_preempt_key(dev, token, previous, abort);
		if (!err && preempted)
			pr_keys_add(preempted, previous);
		return err ? err : pr__reserve(dev, token, PR_FENCE_TYPE);
	}
	for (round = 1; ; round++) {
		err = pr_preempt_others(dev, token, &keys, abort, preempted);
		if (err <= 0)
			break;
		if (round == PR_TAKEOVER_ROUNDS)
			return -EAGAIN;
		err = pr__read_keys(dev, &keys);
		if (err)
			return err;
	}
	if (!err)
		err = pr__reserve(dev, token, PR_FENCE_TYPE);
	return err;
}

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int pr__read_keys(struct pr_dev *dev, struct pr_keys *out)
{
	unsigned char buf[8 + 8 * 32];
	size_t i, have;
	uint32_t len;
	int err;

	err = pr_in(dev, PR_IN_READ_KEYS, buf, sizeof(buf));
	if (err)
		return err;
	out->generation = get_be32(buf);
	len = get_be32(buf + 4);
	out->nr = len / 8;
	have = out->nr < 32 ? out->nr : 32;
	for (i = 0; i < have; i++)
		out->keys[i] = get_be64(buf + 8 + 8 * i);
	return 0;
}

int pr__read_reservation(struct pr_dev *dev, struct pr_reservation_info *out)
{
	unsigned char buf[8 + 16];
	int err;

	err = pr_in(dev, PR_IN_READ_RESERVATION, buf, sizeof(buf));
	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->generation = get_be32(buf);
	out->held = get_be32(buf + 4) >= 16;
	if (out->held) {
		out->key = get_be64(buf + 8);
		out->scsi_type = buf[8 + 13] & 0x0f;
	}
	return 0;
}

const char *pr__scsi_type_name(unsigned int scsi_type)
{
	switch (scsi_type) {
	case 1: return "write-exclusive";
	case 3: return "exclusive-access";
	case 5: return "write-exclusive-registrants-only";
	case 6: return "exclusive-access-registrants-only";
	case 7: return "write-exclusive-all-registrants";
	case 8: return "exclusive-access-all-registrants";
	default: return "unknown";
	}
}
