// SPDX-License-Identifier: GPL-2.0
/*
 * Loading the cluster key (peer_key.h).  A key that others can read is as
 * good as published, so such a file is refused rather than warned about.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "peer_codec.h"
#include "peer_key.h"

static int fail(const char **why, const char *s, int rc)
{
	if (why)
		*why = s;
	return rc;
}

int peer_key__load(const char *path, uint8_t *key, size_t cap, size_t *len,
		   const char **why)
{
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	if (cap < PEER_MAX_KEY_SIZE)
		return fail(why, "key buffer too small", -EINVAL);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fail(why, "cannot open the key file", -errno);
	if (fstat(fd, &st))
		rc = fail(why, "cannot stat the key file", -errno);
	else if (!S_ISREG(st.st_mode))
		rc = fail(why, "the key file is not a regular file", -EINVAL);
	else if (st.st_mode & 077)
		rc = fail(why, "the key file is accessible to group or others "
			  "(chmod 600 it)", -EPERM);
	else if (st.st_size > PEER_MAX_KEY_SIZE)
		rc = fail(why, "the key file is larger than 4096 bytes",
			  -EINVAL);
	if (rc) {
		close(fd);
		return rc;
	}
	n = read(fd, key, PEER_MAX_KEY_SIZE);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return fail(why, "cannot read the key file", rc);
	if (n > 0 && key[n - 1] == '\n')
		n--;
	if (n < PEER_MIN_KEY_SIZE)
		return fail(why, "the key is shorter than 16 bytes", -EINVAL);
	*len = (size_t)n;
	return 0;
}
