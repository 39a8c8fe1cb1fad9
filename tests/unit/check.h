/*
 * check.h -- the smallest unit-test harness that tests/run understands.
 *
 * Each CHECK prints one TAP line ("ok N - what" / "not ok N - what at
 * file:line"); check_done() prints the plan and returns the exit status, so a
 * test's main() ends with `return check_done();`.
 */
#ifndef RPCSYNC_CHECK_H
#define RPCSYNC_CHECK_H

#include <stdio.h>

static int check_count, check_failed;

#define CHECK(cond, ...) do {                                              \
	check_count++;                                                     \
	if (cond) {                                                        \
		printf("ok %d - ", check_count);                           \
	} else {                                                           \
		check_failed++;                                            \
		printf("not ok %d - (%s:%d: %s) ", check_count, __FILE__,  \
		    __LINE__, #cond);                                      \
	}                                                                  \
	printf(__VA_ARGS__);                                               \
	printf("\n");                                                      \
	fflush(stdout);                                                    \
} while (0)

static inline int
check_done(void)
{
	printf("1..%d\n", check_count);
	return check_failed != 0;
}

#endif
