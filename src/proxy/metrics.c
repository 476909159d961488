/*
 * metrics.c - counting a request's end, summing the workers' counters, and
 * the Prometheus text exposition format (version 0.0.4) of the sum. See
 * metrics.h for who writes what.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics.h"

/* The histograms' upper bounds, in seconds and in microseconds. */
static const char *const bucket_le[METRICS_BUCKETS] = {
	"0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	"1", "2.5", "5", "10", "30", "60",
};
static const uint64_t bucket_us[METRICS_BUCKETS] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};

static const char *const timeout_phase[METRICS_TIMEOUT_COUNT] = {
	[METRICS_TIMEOUT_CONNECT] = "connect",
	[METRICS_TIMEOUT_SEND] = "send",
	[METRICS_TIMEOUT_RESPONSE] = "response",
};

static void
observe(struct metrics_hist *h, double s)
{
	uint64_t us = s > 0 ? (uint64_t)(s * 1e6 + 0.5) : 0;
	int i;

	for (i = 0; i < METRICS_BUCKETS; i++)
		if (us <= bucket_us[i]) {
			metrics_add(&h->bucket[i], 1);
			break;
		}
	metrics_add(&h->count, 1);
	metrics_add(&h->sum_us, us);
}

void
metrics_request(struct metrics *m, int status, enum reason why,
    enum desync_class d, double rt, double urt)
{
	enum reason_class c = why == REASON_NONE ? REASON_CLASS_NONE :
	    reason_class(why);
	int si = status >= 100 && status < METRICS_STATUS_MAX ? status : 0;

	if ((unsigned)c >= REASON_CLASS_COUNT)
		c = REASON_CLASS_NONE;
	metrics_add(&m->requests[c][si], 1);
	if (why != REASON_NONE && (unsigned)why < REASON_COUNT)
		metrics_add(&m->refusals[why], 1);
	/* the client side times the response (client.c), not the relay */
	if (why == REASON_UPSTREAM_RESPONSE_TIMEOUT)
		metrics_add(&m->up_timeouts[METRICS_TIMEOUT_RESPONSE], 1);
	if ((unsigned)d < DESYNC_COUNT)
		metrics_add(&m->desync[d], 1);
	metrics_add(&m->responses[si / 100 <= 5 ? si / 100 : 0], 1);
	observe(&m->duration, rt);
	if (urt >= 0)
		observe(&m->upstream, urt);
}

_Static_assert(sizeof(struct metrics) % sizeof(atomic_uint_least64_t) == 0,
    "struct metrics holds counters only");

void
metrics_sum(struct metrics *into, const struct metrics *from)
{
	atomic_uint_least64_t *a = (atomic_uint_least64_t *)into;
	const atomic_uint_least64_t *b = (const atomic_uint_least64_t *)from;
	size_t i, n = sizeof(*into) / sizeof(*a);

	for (i = 0; i < n; i++)
		metrics_set(&a[i], metrics_get(&a[i]) + metrics_get(&b[i]));
}

uint64_t
metrics_open(const struct metrics *m, int upstream)
{
	uint64_t o = metrics_get(upstream ? &m->up_opened : &m->client_opened);
	uint64_t c = metrics_get(upstream ? &m->up_closed : &m->client_closed);

	/* read one after the other while the workers go on: a close of a
	 * connection opened after the first read may be in the second */
	return c < o ? o - c : 0;
}

/* ------------------------------------------------------------ the text */

static void
family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
one(struct evbuffer *out, const char *name, const char *type,
    const char *help, uint64_t v)
{
	family(out, name, type, help);
	evbuffer_add_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

static void
hist(struct evbuffer *out, const char *name, const char *help,
    const struct metrics_hist *h)
{
	uint64_t cum = 0;
	int i;

	family(out, name, "histogram", help);
	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += metrics_get(&h->bucket[i]);
		evbuffer_add_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name,
		    bucket_le[i], (unsigned long long)cum);
	}
	evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)metrics_get(&h->count));
	evbuffer_add_printf(out, "%s_sum %.6f\n", name,
	    (double)metrics_get(&h->sum_us) / 1e6);
	evbuffer_add_printf(out, "%s_count %llu\n", name,
	    (unsigned long long)metrics_get(&h->count));
}

static const char *
verdict_label(unsigned c)
{
	return c == REASON_CLASS_NONE ? "forwarded" :
	    reason_class_label((enum reason_class)c);
}

/* Label values here are the tables' own labels and a version string: none
 * holds a quote, a backslash or a newline (test_reason, CMakeLists.txt). */
void
metrics_render(struct evbuffer *out, const struct metrics *m,
    const struct metrics_process *p)
{
	static const char *const classes[6] = {
		"other", "1xx", "2xx", "3xx", "4xx", "5xx",
	};
	unsigned c, s, r, i;
	uint64_t v;

	family(out, "lengthguard_build_info", "gauge",
	    "The running version (always 1).");
	evbuffer_add_printf(out, "lengthguard_build_info{version=\"%s\"} 1\n",
	    p->version);
	family(out, "lengthguard_start_time_seconds", "gauge",
	    "When the process started, in seconds since the epoch.");
	evbuffer_add_printf(out, "lengthguard_start_time_seconds %.3f\n",
	    p->start_time);
	family(out, "lengthguard_workers", "gauge", "Worker threads.");
	evbuffer_add_printf(out, "lengthguard_workers %u\n", p->workers);
	one(out, "lengthguard_config_generation", "gauge",
	    "Configurations loaded since the start (1: the first).",
	    p->generation);
	family(out, "lengthguard_reloads_total", "counter",
	    "Reloads (SIGHUP) by result; a failed one keeps the running "
	    "configuration.");
	evbuffer_add_printf(out, "lengthguard_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)p->reloads_ok);
	evbuffer_add_printf(out,
	    "lengthguard_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)p->reloads_failed);

	family(out, "lengthguard_requests_total", "counter",
	    "Requests by verdict (forwarded, or the class of the reason that "
	    "ended them) and the status the client got.");
	for (c = 0; c < REASON_CLASS_COUNT; c++)
		for (s = 0; s < METRICS_STATUS_MAX; s++) {
			if ((v = metrics_get(&m->requests[c][s])) == 0)
				continue;
			if (s == 0)
				evbuffer_add_printf(out, "lengthguard_requests_total"
				    "{verdict=\"%s\",status=\"other\"} %llu\n",
				    verdict_label(c), (unsigned long long)v);
			else
				evbuffer_add_printf(out, "lengthguard_requests_total"
				    "{verdict=\"%s\",status=\"%u\"} %llu\n",
				    verdict_label(c), s, (unsigned long long)v);
		}
	family(out, "lengthguard_refusals_total", "counter",
	    "Requests not served, by reason (the reason table's labels, "
	    "docs/classes.md).");
	for (r = REASON_NONE + 1; r < REASON_COUNT; r++)
		evbuffer_add_printf(out,
		    "lengthguard_refusals_total{reason=\"%s\"} %llu\n",
		    reason_label((enum reason)r),
		    (unsigned long long)metrics_get(&m->refusals[r]));
	family(out, "lengthguard_would_refuse_total", "counter",
	    "Requests forwarded in monitor mode that enforce mode would refuse, "
	    "by reason (the reasons docs/classes.md marks forwarded).");
	for (r = REASON_NONE + 1; r < REASON_COUNT; r++)
		if (reason_monitored((enum reason)r))
			evbuffer_add_printf(out,
			    "lengthguard_would_refuse_total{reason=\"%s\"} %llu\n",
			    reason_label((enum reason)r),
			    (unsigned long long)metrics_get(&m->would_refuse[r]));
	family(out, "lengthguard_desync_requests_total", "counter",
	    "Requests by desync class (docs/classes.md).");
	for (i = 0; i < DESYNC_COUNT; i++)
		evbuffer_add_printf(out,
		    "lengthguard_desync_requests_total{class=\"%s\"} %llu\n",
		    reason_desync_label((enum desync_class)i),
		    (unsigned long long)metrics_get(&m->desync[i]));
	family(out, "lengthguard_responses_total", "counter",
	    "Responses by status class, lengthguard's own and the upstreams'.");
	for (i = 1; i < 6; i++)
		evbuffer_add_printf(out,
		    "lengthguard_responses_total{code=\"%s\"} %llu\n", classes[i],
		    (unsigned long long)metrics_get(&m->responses[i]));
	if ((v = metrics_get(&m->responses[0])) != 0)
		evbuffer_add_printf(out,
		    "lengthguard_responses_total{code=\"other\"} %llu\n",
		    (unsigned long long)v);

	one(out, "lengthguard_upstream_connect_failures_total", "counter",
	    "Connection attempts to an upstream that failed (refused, "
	    "unreachable), retries included.",
	    metrics_get(&m->up_connect_failures));
	family(out, "lengthguard_upstream_timeouts_total", "counter",
	    "Upstream timeouts by phase: connect, send (the request), "
	    "response.");
	for (i = 0; i < METRICS_TIMEOUT_COUNT; i++)
		evbuffer_add_printf(out,
		    "lengthguard_upstream_timeouts_total{phase=\"%s\"} %llu\n",
		    timeout_phase[i],
		    (unsigned long long)metrics_get(&m->up_timeouts[i]));
	one(out, "lengthguard_upstream_early_closes_total", "counter",
	    "Upstream connections closed before the end of a response, a "
	    "reused one retried included.", metrics_get(&m->up_early_closes));

	hist(out, "lengthguard_request_duration_seconds",
	    "Requests from their first byte to their end.", &m->duration);
	hist(out, "lengthguard_upstream_response_seconds",
	    "Requests from their head's going upstream to their end.",
	    &m->upstream);

	one(out, "lengthguard_client_connections", "gauge",
	    "Client connections open.", metrics_open(m, 0));
	one(out, "lengthguard_client_connections_total", "counter",
	    "Client connections accepted.", metrics_get(&m->client_opened));
	one(out, "lengthguard_upstream_connections", "gauge",
	    "Upstream connections open, busy or idle.", metrics_open(m, 1));
	one(out, "lengthguard_upstream_connections_total", "counter",
	    "Upstream connections opened.", metrics_get(&m->up_opened));
	one(out, "lengthguard_upstream_pool_hits_total", "counter",
	    "Requests sent on an idle pooled upstream connection.",
	    metrics_get(&m->pool_hits));
	one(out, "lengthguard_upstream_pool_misses_total", "counter",
	    "Requests that needed a new upstream connection.",
	    metrics_get(&m->pool_misses));
	one(out, "lengthguard_client_received_bytes_total", "counter",
	    "Bytes read from clients.", metrics_get(&m->client_in));
	one(out, "lengthguard_client_sent_bytes_total", "counter",
	    "Bytes written to clients.", metrics_get(&m->client_out));
	one(out, "lengthguard_upstream_received_bytes_total", "counter",
	    "Bytes read from upstreams.", metrics_get(&m->up_in));
	one(out, "lengthguard_upstream_sent_bytes_total", "counter",
	    "Bytes written to upstreams.", metrics_get(&m->up_out));
}
