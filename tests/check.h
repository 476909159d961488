/*
 * check.h - the unit tests' tiny harness.
 *
 * CHECK(cond, fmt, ...) counts a passed or failed check and prints the
 * failures; check_done() prints "N passed, N failed" (the closing line CI
 * reads) and returns the exit status.
 */
#ifndef LG_CHECK_H
#define LG_CHECK_H

#include <stdio.h>

static unsigned check_passed, check_failed;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		check_passed++;						\
	} else {							\
		check_failed++;						\
		fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

static inline int
check_done(const char *suite)
{
	printf("%s: %u passed, %u failed\n", suite, check_passed, check_failed);
	return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

#endif /* LG_CHECK_H */
