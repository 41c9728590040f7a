// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * libgnomon's reader of the agent's file (GNOMON_FROM_AGENT).
 *
 * The kernel's page cannot shrink, but the agent's file is a file: anyone
 * with the right to write it can truncate it, and a process that has it
 * mapped then dies of SIGBUS at its next read.  So the file is read, never
 * mapped: a pread() of the whole page counts only when it equals a copy
 * read before it and its seq is even.  A write overlapping the earlier
 * copy shows in the later one (the later read starts after the earlier
 * ends, and the writer makes seq odd before it changes a byte and even
 * after, so a finished write changes seq), so equal copies with an even
 * seq are a consistent snapshot, as in the seqcount protocol.  The copy
 * kept is the previous call's, so while the agent does not write (it
 * updates every 100 ms to 1 s) one system call per TT.now() suffices, two
 * after an update.  Readers of one client take turns (read_lock), which
 * keeps "before" true between threads.
 *
 * Bounds (a reader never hangs on a writer):
 *  - copies that keep differing: GNOMON_PAGE_READ_TRIES tries;
 *  - an odd seq: AGENT_ODD_WAITS naps of AGENT_ODD_NAP_NS (an agent can be
 *    preempted mid-update), then the copy goes out with its odd seq, which
 *    TT.now() reports DISRUPTED.  The odd value is remembered: while the
 *    file still holds it (the agent died mid-update) later reads give up at
 *    once instead of napping again;
 *  - a short read (the file was truncated) or a copy that is no page reads
 *    as UNSYNCHRONIZED (lib/core checks magic, version and size of every
 *    copy).
 *
 * The file is followed by name: every AGENT_RECHECK_NS (on the monotonic
 * clock TT.now() reads anyway) the path is stat()ed, and if it names
 * another file now (the agent replaced a broken one), that file is opened
 * and dup3()ed onto the same descriptor number, so that threads reading
 * at that moment read either file, never a closed or reused descriptor.
 * A restarted agent repairs a valid page in place (tools/syncd/sink_shm.c),
 * which readers see without reopening.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_internal.h"

#define AGENT_RECHECK_NS	(100 * 1000 * 1000ULL)
#define AGENT_ODD_NAP_NS	(50 * 1000ULL)
#define AGENT_ODD_WAITS		20

int gnomon_agent__open(struct gnomon_agent *a, const char *path)
{
	struct gnomon_page snap;
	struct stat st;
	int fd, err;

	a->path = strdup(path);
	if (!a->path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto free_path;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto close_fd;
	}
	/* Chosen as the source only if it holds a page now. */
	err = -EPROTO;
	if (pread(fd, &snap, sizeof(snap), 0) != (ssize_t)sizeof(snap) ||
	    !gnomon_page_valid(&snap))
		goto close_fd;
	a->fd = fd;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->checked_ns = gnomon_clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->read_lock, NULL);
	return 0;

close_fd:
	close(fd);
free_path:
	free(a->path);
	a->path = NULL;
	return err;
}

void gnomon_agent__close(struct gnomon_agent *a)
{
	if (!a->path)
		return;
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->read_lock);
	free(a->path);
	a->path = NULL;
}

static void nap(uint64_t ns)
{
	struct timespec ts = { .tv_nsec = (long)ns };

	nanosleep(&ts, NULL);
}

/* One read compared with the one before it; under read_lock. */
static int read_once(struct gnomon_agent *a, struct gnomon_page *snap)
{
	bool same;

	if (pread(a->fd, snap, sizeof(*snap), 0) != (ssize_t)sizeof(*snap)) {
		/* Truncated: no page at all, and no copy to trust next. */
		memset(snap, 0, sizeof(*snap));
		a->have_last = false;
		return -EPROTO;
	}
	same = a->have_last && !memcmp(snap, &a->last, sizeof(*snap));
	a->last = *snap;
	a->have_last = true;
	return same ? 0 : -EAGAIN;
}

bool gnomon_agent__snapshot(struct gnomon_agent *a, struct gnomon_page *snap)
{
	unsigned int tries, odd = 0;
	bool ok = false;
	int err;

	pthread_mutex_lock(&a->read_lock);
	for (tries = 0; tries < GNOMON_PAGE_READ_TRIES; tries++) {
		err = read_once(a, snap);
		if (err == -EPROTO)
			goto unlock;
		if (err)
			continue;
		if (!(snap->seq & 1)) {
			ok = true;
			goto unlock;
		}
		if (snap->seq == a->stuck_seq)
			break;
		if (++odd == AGENT_ODD_WAITS) {
			a->stuck_seq = snap->seq;
			break;
		}
		nap(AGENT_ODD_NAP_NS);
	}
	snap->seq |= 1;
unlock:
	pthread_mutex_unlock(&a->read_lock);
	return ok;
}

bool gnomon_agent__follow(struct gnomon_agent *a, uint64_t mono_ns)
{
	struct stat st;
	bool moved = false;
	int fd;

	if (mono_ns - atomic_load(&a->checked_ns) < AGENT_RECHECK_NS)
		return false;
	/* One thread checks; the others read on meanwhile. */
	if (pthread_mutex_trylock(&a->lock))
		return false;
	atomic_store(&a->checked_ns, mono_ns);
	if (stat(a->path, &st) < 0 || (st.st_dev == a->dev && st.st_ino == a->ino))
		goto unlock;
	fd = open(a->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto unlock;
	if (fstat(fd, &st) == 0 && dup3(fd, a->fd, O_CLOEXEC) >= 0) {
		a->dev = st.st_dev;
		a->ino = st.st_ino;
		moved = true;
	}
	close(fd);
unlock:
	pthread_mutex_unlock(&a->lock);
	return moved;
}
