/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cluster key file (--peer-key-file): any bytes, at least
 * PEER_MIN_KEY_SIZE of them (one trailing newline is not part of the key),
 * in a regular file of at most PEER_MAX_KEY_SIZE bytes that only its owner may read
 * or write.  Every member of a cluster uses the same file.
 */
#ifndef GNOMOND_PEER_KEY_H
#define GNOMOND_PEER_KEY_H

#include <stddef.h>
#include <stdint.h>

#define PEER_MAX_KEY_SIZE	4096

/*
 * Read the key into key[cap] (cap >= PEER_MAX_KEY_SIZE).  Returns 0, -errno
 * from the system, -EPERM if group or others may access the file, -EINVAL
 * if the key is too short or too long or the file is not a regular file;
 * *why names the problem.
 */
int peer_key__load(const char *path, uint8_t *key, size_t cap, size_t *len,
		   const char **why);

#endif /* GNOMOND_PEER_KEY_H */
