/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small KTAP test harness for gnomon's C tests.
 *
 *	KTAP_TEST(hlc_never_goes_back)
 *	{
 *		KTAP_EXPECT(t, a < b, "a=%d b=%d", a, b);
 *		if (!have_thing)
 *			return ktap_skip(t, "no thing: %s", why);
 *	}
 *	int main(int argc, char **argv) { return ktap_main(argc, argv); }
 *
 * Tests register themselves at load time and run in order, each in a forked
 * child so that a crash, a hang (KTAP_TIMEOUT_S seconds, default 300) or a
 * leak found by LeakSanitizer when the child exits fails that test alone.  A failed expectation prints a diagnostic and marks
 * the test failed but lets it go on; KTAP_ASSERT stops the test.  Arguments
 * on the command line select tests by name.  Output is KTAP version 1; the
 * exit status is kselftest's: KSFT_FAIL if anything failed, KSFT_SKIP if
 * every test was skipped, else KSFT_PASS.
 */
#ifndef GNOMON_KTAP_H
#define GNOMON_KTAP_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KTAP_MAX_TESTS	128
#define KTAP_EXIT_SKIP	77	/* a test's child to ktap_run_one */
#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

struct ktap {
	const char *name;
	bool failed;
};

typedef void (*ktap_fn)(struct ktap *t);

struct ktap_registry {
	const char *names[KTAP_MAX_TESTS];
	ktap_fn fns[KTAP_MAX_TESTS];
	int count;
};

static struct ktap_registry ktap_tests;

static inline void ktap_register(const char *name, ktap_fn fn)
{
	if (ktap_tests.count == KTAP_MAX_TESTS) {
		fprintf(stderr, "ktap: more than %d tests\n", KTAP_MAX_TESTS);
		abort();
	}
	ktap_tests.names[ktap_tests.count] = name;
	ktap_tests.fns[ktap_tests.count++] = fn;
}

#define KTAP_TEST(name)							\
	static void name(struct ktap *t);				\
	__attribute__((constructor)) static void ktap_reg_##name(void)	\
	{								\
		ktap_register(#name, name);				\
	}								\
	static void name(struct ktap *t __attribute__((unused)))

__attribute__((format(printf, 1, 2)))
static inline void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

#define KTAP_EXPECT(t, cond, ...)					\
	do {								\
		if (!(cond)) {						\
			ktap_diag("%s:%d: expected %s", __FILE__,	\
				  __LINE__, #cond);			\
			ktap_diag(__VA_ARGS__);				\
			(t)->failed = true;				\
		}							\
	} while (0)

#define KTAP_ASSERT(t, cond, ...)					\
	do {								\
		bool ktap_ok_ = (cond);					\
									\
		KTAP_EXPECT(t, ktap_ok_, __VA_ARGS__);			\
		if (!ktap_ok_)						\
			return;						\
	} while (0)

/* Skip the current test; only call it from the test function itself. */
__attribute__((format(printf, 2, 3)))
static inline void ktap_skip(struct ktap *t, const char *fmt, ...)
{
	va_list ap;

	printf("# SKIP %s: ", t->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(KTAP_EXIT_SKIP);
}

/*
 * The tests' pseudo-random numbers: xorshift64 (Marsaglia 2003) on the state
 * *s, which must start non-zero.  A fixed seed makes a failure replay.
 */
static inline uint64_t ktap_rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline bool ktap_selected(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* Run one test in a child: KSFT_PASS, KSFT_FAIL or KSFT_SKIP. */
static inline int ktap_run_one(int index, const char *name, ktap_fn fn,
			       unsigned int timeout_s)
{
	struct ktap t = { .name = name };
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return KSFT_FAIL;
	}
	if (pid == 0) {
		alarm(timeout_s);
		fn(&t);
		/* exit(), not _exit(): LeakSanitizer checks at exit. */
		exit(t.failed ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return KSFT_FAIL;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == KTAP_EXIT_SKIP) {
		printf("ok %d %s # SKIP\n", index, name);
		return KSFT_SKIP;
	}
	if (WIFSIGNALED(status))
		ktap_diag("%s: killed by signal %d%s", name, WTERMSIG(status),
			  WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %d %s\n", index, name);
		return KSFT_PASS;
	}
	printf("not ok %d %s\n", index, name);
	return KSFT_FAIL;
}

static inline int ktap_main(int argc, char **argv)
{
	const char *env = getenv("KTAP_TIMEOUT_S");
	unsigned int timeout_s = env ? (unsigned int)atoi(env) : 300;
	int planned = 0, failed = 0, skipped = 0, index = 0, rc;

	for (int i = 0; i < ktap_tests.count; i++)
		planned += ktap_selected(argc, argv, ktap_tests.names[i]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..%d\n", planned);
	for (int i = 0; i < ktap_tests.count; i++) {
		if (!ktap_selected(argc, argv, ktap_tests.names[i]))
			continue;
		rc = ktap_run_one(++index, ktap_tests.names[i],
				  ktap_tests.fns[i], timeout_s);
		failed += rc == KSFT_FAIL;
		skipped += rc == KSFT_SKIP;
	}
	ktap_diag("%d tests, %d failed", planned, failed);
	if (failed)
		return KSFT_FAIL;
	return planned && skipped == planned ? KSFT_SKIP : KSFT_PASS;
}

#endif /* GNOMON_KTAP_H */
