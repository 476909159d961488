/*
 * main.c - command line, signals, configuration generations.
 *
 *   lengthguard [-c FILE]	run in the foreground (logs to stderr)
 *   lengthguard -t [-c FILE]	check the configuration and pages, then exit
 *   lengthguard -V		print the version
 *
 * Signals (the main thread waits for them; workers never see them):
 *   SIGTERM, SIGINT	stop accepting, finish requests in flight, exit 0
 *   SIGHUP		reload conf and pages; a broken new one is logged and
 *			the old one stays
 *   SIGUSR1		reopen log files
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "pages.h"
#include "proxy.h"

#ifndef LG_DEFAULT_CONF
#define LG_DEFAULT_CONF "conf/lengthguard.conf"
#endif

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: lengthguard [-t] [-c file] [-V] [-h]\n"
	    "  -c file  configuration (default %s)\n"
	    "  -t       test the configuration and pages, then exit\n"
	    "  -V       print the version\n", LG_DEFAULT_CONF);
}

/* Resolve the upstreams now, so a request never waits on DNS. */
static int
gen_resolve(struct gen *g, FILE *errs)
{
	struct addrinfo hints, *res;
	char port[8];
	int i, rv = 0, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	for (i = 0; i < g->conf.nupstream; i++) {
		const struct conf_addr *a = &g->conf.upstream[i];

		snprintf(port, sizeof(port), "%u", a->port);
		if ((e = getaddrinfo(a->host, port, &hints, &res)) != 0) {
			fprintf(errs, "%s:%d: [proxy] upstream: cannot resolve %s: %s\n",
			    g->conf.path, a->line, a->host, gai_strerror(e));
			rv = -1;
			continue;
		}
		memcpy(&g->upstream[i], res->ai_addr, res->ai_addrlen);
		g->upstream_len[i] = res->ai_addrlen;
		freeaddrinfo(res);
		if (strchr(a->host, ':'))
			snprintf(g->upstream_host[i], sizeof(g->upstream_host[i]),
			    "[%s]:%u", a->host, a->port);
		else
			snprintf(g->upstream_host[i], sizeof(g->upstream_host[i]),
			    "%s:%u", a->host, a->port);
	}
	return rv;
}

struct gen *
gen_load(const char *path, FILE *errs)
{
	struct gen *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	atomic_init(&g->refs, 1);
	if (conf_load(path, &g->conf, errs) != 0) {
		free(g);
		return NULL;
	}
	g->pages = pages_load(g->conf.pages_dir, errs);
	if (g->pages == NULL || gen_resolve(g, errs) != 0) {
		gen_unref(g);
		return NULL;
	}
	return g;
}

void
gen_ref(struct gen *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void
gen_unref(struct gen *g)
{
	if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1) {
		pages_unref(g->pages);
		conf_free(&g->conf);
		free(g);
	}
}

/*
 * Every client connection takes a descriptor and its upstream connection
 * another; idle pooled connections and the process's own take the rest.
 * Raise the soft RLIMIT_NOFILE towards that (up to the hard limit), and
 * say so when even the hard limit is too low: accepting then pauses
 * whenever descriptors run out, instead of serving max_connections.
 */
static void
check_nofile(const struct conf *cf, int nworkers)
{
	struct rlimit rl;
	rlim_t need;

	need = ((rlim_t)cf->max_connections * 2 +
	    (rlim_t)cf->upstream_pool_size * (rlim_t)cf->nupstream +
	    (rlim_t)cf->nlisten) * (rlim_t)nworkers + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ?
		    need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 &&
		    getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("max_connections %u with %d worker%s needs about %llu "
		    "descriptors, but RLIMIT_NOFILE is %llu: accepting pauses "
		    "whenever they run out", cf->max_connections, nworkers,
		    nworkers == 1 ? "" : "s", (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
}

/* Reload on SIGHUP: errors go to the error log, the old gen stays. */
static struct gen *
reload(const char *path, struct gen *cur, int nworkers)
{
	char *msg = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&msg, &len);
	struct gen *g;

	if (errs == NULL)
		return cur;
	g = gen_load(path, errs);
	fclose(errs);
	if (g == NULL) {
		log_error("reload failed, keeping the running configuration:\n%s",
		    msg ? msg : "");
		free(msg);
		return cur;
	}
	free(msg);
	if (g->conf.nlisten != cur->conf.nlisten ||
	    memcmp(g->conf.listen, cur->conf.listen, sizeof(g->conf.listen)) != 0)
		log_warn("listen addresses changed: they take effect on restart");
	log_open(&g->conf, 1);
	check_nofile(&g->conf, nworkers);
	workers_reload(g);
	gen_unref(cur);
	log_info("configuration reloaded from %s", path);
	return g;
}

int
main(int argc, char **argv)
{
	const char *path = LG_DEFAULT_CONF;
	int test = 0, ch, n, i, sig;
	struct gen *g;
	sigset_t set;
	long ncpu;

	while ((ch = getopt(argc, argv, "c:tVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("lengthguard %s\n", LG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if ((g = gen_load(path, stderr)) == NULL) {
		fprintf(stderr, "lengthguard: configuration %s has errors\n", path);
		return 1;
	}
	if (test) {
		printf("configuration ok\n");
		gen_unref(g);
		return 0;
	}

	/* signals are taken by this thread only, with sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (log_open(&g->conf, 0) != 0)
		return 1;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	n = g->conf.workers ? g->conf.workers : (ncpu > 0 ? (int)ncpu : 1);
	check_nofile(&g->conf, n);
	if (workers_start(g, n) != 0) {
		log_error("cannot start");
		return 1;
	}
	for (i = 0; i < g->conf.nlisten; i++)
		log_info("listening on %s:%u (%d worker%s)", g->conf.listen[i].host,
		    g->conf.listen[i].port, n, n == 1 ? "" : "s");

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			g = reload(path, g, n);
		} else if (sig == SIGUSR1) {
			if (log_open(&g->conf, 1) == 0)
				log_info("log files reopened");
		} else {
			break;
		}
	}
	log_info("stopping: finishing requests in flight (grace %u ms)",
	    g->conf.shutdown_timeout);
	workers_stop();
	if (workers_wait(g->conf.shutdown_timeout) != 0) {
		log_warn("grace period over, exiting with requests in flight");
		return 0;
	}
	log_info("stopped");
	gen_unref(g);
	return 0;
}
