/*
 * run.c - lengthguard-run: start a program with the LD_PRELOAD guard.
 *
 *     lengthguard-run -c FILE [--] PROG [ARGS...]
 *
 * Checks FILE as the library will load it (conf_load_preload: errors on
 * stderr, exit 1), then puts the library first in LD_PRELOAD, sets
 * LENGTHGUARD_CONF to FILE's absolute path, and execs PROG (searched in
 * PATH). The library's path is compiled in: the installed one, or the
 * build tree's for the build tree's binary (LG_RUN_PRELOAD).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#ifndef LG_RUN_PRELOAD
#error "LG_RUN_PRELOAD must name the library"
#endif
#ifndef LG_VERSION
#define LG_VERSION "unknown"
#endif

/* exit statuses, as env(1) and the shells have them */
#define EXIT_USAGE	2
#define EXIT_NOEXEC	126
#define EXIT_NOTFOUND	127

static void
usage(FILE *f)
{
	fprintf(f, "usage: lengthguard-run -c FILE [--] PROGRAM [ARGS...]\n"
	    "       lengthguard-run -V | -h\n");
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *old;
	char *abs, *preload;
	struct conf c;
	size_t len;
	int ch;

	while ((ch = getopt(argc, argv, "+c:hV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("lengthguard-run %s (library %s)\n", LG_VERSION,
			    LG_RUN_PRELOAD);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (path == NULL || optind >= argc) {
		fprintf(stderr, "lengthguard-run: %s\n", path == NULL ?
		    "-c FILE is required" : "no program to run");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (conf_load_preload(path, &c, stderr) != 0) {
		fprintf(stderr, "lengthguard-run: configuration failed: %s\n",
		    path);
		return 1;
	}
	conf_free(&c);
	if ((abs = realpath(path, NULL)) == NULL) {
		fprintf(stderr, "lengthguard-run: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	/* first, so that the guard's accept and read are the ones found */
	old = getenv("LD_PRELOAD");
	len = sizeof(LG_RUN_PRELOAD) + (old != NULL ? 1 + strlen(old) : 0);
	if ((preload = malloc(len)) == NULL) {
		fprintf(stderr, "lengthguard-run: out of memory\n");
		return 1;
	}
	snprintf(preload, len, "%s%s%s", LG_RUN_PRELOAD,
	    old != NULL && *old != '\0' ? " " : "", old != NULL ? old : "");
	if (setenv("LD_PRELOAD", preload, 1) != 0 ||
	    setenv("LENGTHGUARD_CONF", abs, 1) != 0) {
		fprintf(stderr, "lengthguard-run: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "lengthguard-run: %s: %s\n", argv[optind],
	    strerror(errno));
	return errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}
