/*
 * proxy.h - the libevent front end: workers, clients, upstreams.
 *
 * A struct gen is one loaded configuration (conf, pages, resolved upstream
 * addresses). The main thread builds one at start and on every SIGHUP and
 * hands it to each worker; connections keep the gen they started with, so a
 * reload never changes a request in flight.
 */
#ifndef LG_PROXY_H
#define LG_PROXY_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "pages.h"

struct gen {
	atomic_int refs;
	uint64_t generation;		/* 1 at start, +1 per successful reload */
	struct conf conf;
	struct pages *pages;
	struct sockaddr_storage upstream[CONF_MAX_ADDRS];
	socklen_t upstream_len[CONF_MAX_ADDRS];
	char upstream_host[CONF_MAX_ADDRS][300];	/* Host for 1.0 requests */
};

/* Load conf and pages; NULL with errors printed to errs. */
struct gen *gen_load(const char *path, FILE *errs);
void gen_ref(struct gen *);
void gen_unref(struct gen *);

struct worker;
struct metrics;
struct metrics_health;

/* Start `n` workers on gen: each binds its own SO_REUSEPORT listeners, and
 * accepts nothing until workers_serve() (after the privilege drop). */
int  workers_start(struct gen *, int n);
void workers_serve(void);
void workers_reload(struct gen *);
void workers_stop(void);		/* graceful: stop accepting, finish */
int  workers_wait(unsigned grace_ms);	/* 0 when all ended in time */

/* Each running worker's counters and upstream health (metrics.h), for the
 * admin thread to read: up to max of each; returns how many. */
int  workers_metrics(const struct metrics **m, const struct metrics_health **h,
    int max);

#endif /* LG_PROXY_H */
