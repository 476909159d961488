/*
 * metrics.h - per-worker counters, summed at scrape time (admin.c).
 *
 * Each worker owns one struct metrics, inside its struct worker, and is
 * the only thread that writes it: nothing on the request path is shared,
 * locked, or a read-modify-write atomic. A counter is an atomic 64-bit
 * word all the same, written by its worker with a relaxed load and a
 * relaxed store (metrics_add: a plain load, add and store on x86-64 and
 * arm64, no lock prefix, since there is one writer) and read by the admin
 * thread with relaxed loads: a scrape never sees a torn value, and costs
 * the workers nothing. The other choice, a snapshot each worker copies
 * out on request, would need the admin thread to wake every worker's loop
 * and wait for it, so that a busy or stuck worker would delay or block
 * /metrics. Counters read by one scrape are not one instant's (a request
 * may be counted in requests_total and not yet in the histogram): each is
 * monotonic, which is what Prometheus needs.
 *
 * A reload keeps the counters: they belong to the worker, not to a
 * configuration generation.
 */
#ifndef LG_METRICS_H
#define LG_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "conf.h"
#include "reason.h"

struct evbuffer;

#define METRICS_STATUS_MAX	600	/* statuses 100..599; 0: any other */
#define METRICS_BUCKETS		14	/* histogram buckets, +Inf aside */

/* lengthguard_upstream_timeouts_total{phase=...} */
enum metrics_timeout {
	METRICS_TIMEOUT_CONNECT = 0,
	METRICS_TIMEOUT_SEND,
	METRICS_TIMEOUT_RESPONSE,
	METRICS_TIMEOUT_COUNT
};

/* Durations in microseconds: count per bucket (not cumulative; the
 * scrape adds them up), their number and their sum. */
struct metrics_hist {
	atomic_uint_least64_t bucket[METRICS_BUCKETS];
	atomic_uint_least64_t count;
	atomic_uint_least64_t sum_us;
};

/* Every field is an atomic_uint_least64_t (metrics_sum relies on it). */
struct metrics {
	/* by verdict: index reason_class (REASON_CLASS_NONE: forwarded) */
	atomic_uint_least64_t requests[REASON_CLASS_COUNT][METRICS_STATUS_MAX];
	atomic_uint_least64_t refusals[REASON_COUNT];
	/* [policy] mode = monitor: let through, though enforcement would
	 * refuse it for this reason (reason_monitored) */
	atomic_uint_least64_t would_refuse[REASON_COUNT];
	atomic_uint_least64_t desync[DESYNC_COUNT];
	atomic_uint_least64_t responses[6];	/* 1xx..5xx; [0]: other */
	atomic_uint_least64_t up_connect_failures;
	atomic_uint_least64_t up_timeouts[METRICS_TIMEOUT_COUNT];
	atomic_uint_least64_t up_early_closes;
	struct metrics_hist duration;		/* request, start to end */
	struct metrics_hist upstream;		/* head sent upstream to end */
	atomic_uint_least64_t client_opened, client_closed;
	atomic_uint_least64_t up_opened, up_closed;
	atomic_uint_least64_t pool_hits, pool_misses;
	atomic_uint_least64_t client_in, client_out;	/* bytes */
	atomic_uint_least64_t up_in, up_out;
};

/*
 * What a worker knows of each upstream's health (pool.c), published for
 * /status: its configuration generation, and per upstream the failed
 * attempts counted and the time (ms, worker_now_ms) until which it is out
 * of use. Written by the worker with relaxed stores, like the counters.
 */
struct metrics_health {
	atomic_uint_least64_t generation;
	atomic_uint_least64_t fails[CONF_MAX_ADDRS];
	atomic_uint_least64_t down_until[CONF_MAX_ADDRS];
};

/* Add n to a counter of this worker's (its only writer). */
static inline void
metrics_add(atomic_uint_least64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) +
	    n, memory_order_relaxed);
}

static inline void
metrics_set(atomic_uint_least64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t
metrics_get(const atomic_uint_least64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/*
 * One request ended: status what the client got, why its reason
 * (REASON_NONE: forwarded), d its desync class, rt its duration and urt
 * the upstream's part (seconds; < 0: it never went upstream).
 */
void metrics_request(struct metrics *, int status, enum reason why,
    enum desync_class d, double rt, double urt);

/* into += from, field by field (relaxed loads; into is the caller's). */
void metrics_sum(struct metrics *into, const struct metrics *from);

/* Open connections of a sum: client (upstream 0) or upstream ones. */
uint64_t metrics_open(const struct metrics *, int upstream);

/* What the scrape adds to the workers' sums: the process's own. */
struct metrics_process {
	const char *version;
	unsigned workers;
	uint64_t generation;		/* configurations loaded */
	uint64_t reloads_ok, reloads_failed;
	double   start_time;		/* seconds since the epoch */
};

/* The Prometheus text exposition format (0.0.4) of a sum of the workers'
 * counters; every metric in it is listed in README.md. */
void metrics_render(struct evbuffer *, const struct metrics *,
    const struct metrics_process *);

#endif /* LG_METRICS_H */
