/*
 * admin.c - the admin listener (see admin.h), with libevent's evhttp on a
 * thread of its own: a scrape never runs on a worker's loop, and a slow
 * scraper never delays a request.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "log.h"
#include "metrics.h"
#include "worker.h"

#define ADMIN_TIMEOUT_S		10	/* a scraper that stalls is dropped */
#define ADMIN_MAX_HEAD		8192
#define ADMIN_MAX_BODY		1024

static struct event_base *base;
static struct evhttp *http;
static pthread_t thread;
static int running;
static struct conf_addr bound;		/* the address served, for reloads */
static int bound_on;			/* [admin] listen was set at start */

/* What the main thread tells (start, reloads), read by the admin thread. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct gen *cur;			/* a reference of ours */
static uint64_t reloads_ok, reloads_failed;
static time_t last_reload;		/* 0: none yet */
static int last_ok = 1;
static char last_why[256];
static struct timespec start_mono;
static double start_real;

static double
since_start(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - start_mono.tv_sec) +
	    (double)(t.tv_nsec - start_mono.tv_nsec) / 1e9;
}

/* The workers' counters, summed; also sets *nworkers. */
static struct metrics *
sum_workers(unsigned *nworkers)
{
	const struct metrics *m[64];
	const struct metrics_health *h[64];
	struct metrics *s = calloc(1, sizeof(*s));
	int i, n;

	n = workers_metrics(m, h, 64);
	*nworkers = (unsigned)n;
	if (s != NULL)
		for (i = 0; i < n; i++)
			metrics_sum(s, m[i]);
	return s;
}

static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char len[32];

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* the length GET would have, and no body (RFC 9110 §9.3.2) */
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, reason, body);
}

static void
serve_metrics(struct evhttp_request *req, struct evbuffer *out)
{
	struct metrics_process p;
	struct metrics *s;
	unsigned n;

	if ((s = sum_workers(&n)) == NULL) {
		evhttp_send_error(req, 500, "Out of memory");
		return;
	}
	memset(&p, 0, sizeof(p));
	p.version = LG_VERSION;
	p.workers = n;
	p.start_time = start_real;
	pthread_mutex_lock(&lock);
	p.generation = cur ? cur->generation : 0;
	p.reloads_ok = reloads_ok;
	p.reloads_failed = reloads_failed;
	pthread_mutex_unlock(&lock);
	metrics_render(out, s, &p);
	free(s);
	reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", out);
}

/* A JSON string: s in quotes, escaped (accesslog_json_escape). */
static void
json_str(struct evbuffer *out, const char *s)
{
	char buf[1024];

	accesslog_json_escape(buf, sizeof(buf), s, strlen(s));
	evbuffer_add_printf(out, "\"%s\"", buf);
}

/* The upstreams of the running conf, each as the workers see it. */
static void
status_upstreams(struct evbuffer *out, const struct gen *g)
{
	const struct metrics *m[64];
	const struct metrics_health *h[64];
	uint64_t now = worker_now_ms(), fails;
	int i, k, n = workers_metrics(m, h, 64), seen, down;
	char addr[300];

	evbuffer_add_printf(out, "\"upstreams\":[");
	for (i = 0; i < g->conf.nupstream; i++) {
		const struct conf_addr *a = &g->conf.upstream[i];

		seen = down = 0;
		fails = 0;
		for (k = 0; k < n; k++) {
			/* a worker still on an older conf counts for nothing */
			if (metrics_get(&h[k]->generation) != g->generation)
				continue;
			seen++;
			fails += metrics_get(&h[k]->fails[i]);
			if (metrics_get(&h[k]->down_until[i]) > now)
				down++;
		}
		snprintf(addr, sizeof(addr), strchr(a->host, ':') ? "[%s]:%u" :
		    "%s:%u", a->host, a->port);
		evbuffer_add_printf(out, "%s{\"address\":", i ? "," : "");
		json_str(out, addr);
		evbuffer_add_printf(out, ",\"state\":\"%s\",\"workers_down\":%d,"
		    "\"failures\":%llu,\"weight\":%u,\"max_fails\":%u,"
		    "\"fail_timeout_seconds\":%.3f,\"backup\":%s}",
		    down == 0 ? "up" : down == seen ? "down" : "partly_down", down,
		    (unsigned long long)fails, a->weight, a->max_fails,
		    a->fail_timeout / 1000.0, a->backup ? "true" : "false");
	}
	evbuffer_add_printf(out, "]");
}

static void
serve_status(struct evhttp_request *req, struct evbuffer *out)
{
	struct metrics *s;
	char when[40] = "";
	struct tm tm;
	unsigned n;

	if ((s = sum_workers(&n)) == NULL) {
		evhttp_send_error(req, 500, "Out of memory");
		return;
	}
	pthread_mutex_lock(&lock);
	if (last_reload != 0) {
		gmtime_r(&last_reload, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	evbuffer_add_printf(out, "{\"version\":\"%s\",\"uptime_seconds\":%.3f,"
	    "\"generation\":%llu,\"reloads\":{\"ok\":%llu,\"failed\":%llu},"
	    "\"last_reload\":", LG_VERSION, since_start(),
	    (unsigned long long)(cur ? cur->generation : 0),
	    (unsigned long long)reloads_ok, (unsigned long long)reloads_failed);
	if (last_reload == 0) {
		evbuffer_add_printf(out, "null");
	} else {
		evbuffer_add_printf(out, "{\"result\":\"%s\",\"time\":\"%s\"",
		    last_ok ? "ok" : "failed", when);
		if (!last_ok) {
			evbuffer_add_printf(out, ",\"error\":");
			json_str(out, last_why);
		}
		evbuffer_add_printf(out, "}");
	}
	evbuffer_add_printf(out, ",\"workers\":%u,\"connections\":{\"client\":%llu,"
	    "\"upstream\":%llu},", n,
	    (unsigned long long)metrics_open(s, 0),
	    (unsigned long long)metrics_open(s, 1));
	if (cur != NULL)
		status_upstreams(out, cur);
	else
		evbuffer_add_printf(out, "\"upstreams\":[]");
	evbuffer_add_printf(out, "}\n");
	pthread_mutex_unlock(&lock);
	free(s);
	reply(req, 200, "OK", "application/json", out);
}

static void
admin_request(struct evhttp_request *req, void *arg)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *out = evbuffer_new();

	(void)arg;
	if (out == NULL) {
		evhttp_send_error(req, 500, "Out of memory");
		return;
	}
	if (path == NULL)
		path = "";
	if (strcmp(path, "/metrics") != 0 && strcmp(path, "/healthz") != 0 &&
	    strcmp(path, "/status") != 0) {
		evbuffer_add_printf(out, "not found: /metrics, /healthz, /status\n");
		reply(req, 404, "Not Found", "text/plain; charset=utf-8", out);
	} else if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    "GET, HEAD");
		evbuffer_add_printf(out, "method not allowed: GET or HEAD\n");
		reply(req, 405, "Method Not Allowed", "text/plain; charset=utf-8",
		    out);
	} else if (strcmp(path, "/metrics") == 0) {
		serve_metrics(req, out);
	} else if (strcmp(path, "/status") == 0) {
		serve_status(req, out);
	} else {
		evbuffer_add_printf(out, "ok\n");
		reply(req, 200, "OK", "text/plain; charset=utf-8", out);
	}
	evbuffer_free(out);
}

static void *
admin_main(void *arg)
{
	(void)arg;
	event_base_dispatch(base);
	return NULL;
}

int
admin_start(struct gen *g)
{
	const struct conf_addr *a = &g->conf.admin;
	struct evhttp_bound_socket *sock;

	clock_gettime(CLOCK_MONOTONIC, &start_mono);
	{
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		start_real = (double)t.tv_sec + (double)t.tv_nsec / 1e9;
	}
	pthread_mutex_lock(&lock);
	gen_ref(g);
	cur = g;
	bound = *a;
	bound_on = g->conf.admin_on;
	pthread_mutex_unlock(&lock);
	if (!g->conf.admin_on)
		return 0;
	if ((base = event_base_new()) == NULL || (http = evhttp_new(base)) == NULL)
		goto fail;
	evhttp_set_timeout(http, ADMIN_TIMEOUT_S);
	evhttp_set_max_headers_size(http, ADMIN_MAX_HEAD);
	evhttp_set_max_body_size(http, ADMIN_MAX_BODY);
	/* every method reaches admin_request, which answers 405 itself */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, admin_request, NULL);
	sock = evhttp_bind_socket_with_handle(http,
	    strcmp(a->host, "*") == 0 ? "0.0.0.0" : a->host, a->port);
	if (sock == NULL) {
		log_error("[admin] cannot listen on %s:%u", a->host, a->port);
		goto fail;
	}
	if (pthread_create(&thread, NULL, admin_main, NULL) != 0)
		goto fail;
	running = 1;
	log_info("admin listener on %s:%u (/metrics, /healthz, /status)",
	    a->host, a->port);
	return 0;
fail:
	if (http)
		evhttp_free(http);
	if (base)
		event_base_free(base);
	http = NULL;
	base = NULL;
	return -1;
}

void
admin_reloaded(struct gen *g, int ok, const char *why)
{
	struct gen *old;
	struct conf_addr a;

	pthread_mutex_lock(&lock);
	old = cur;
	gen_ref(g);
	cur = g;
	if (ok)
		reloads_ok++;
	else
		reloads_failed++;
	last_ok = ok;
	last_reload = time(NULL);
	snprintf(last_why, sizeof(last_why), "%.*s", why ?
	    (int)strcspn(why, "\n") : 0, why ? why : "");
	pthread_mutex_unlock(&lock);
	if (old)
		gen_unref(old);
	a = g->conf.admin;
	if (ok && (g->conf.admin_on != bound_on || (bound_on &&
	    (strcmp(a.host, bound.host) != 0 || a.port != bound.port))))
		log_warn("[admin] listen changed: it takes effect on restart");
}

void
admin_stop(void)
{
	struct gen *g;

	if (running) {
		event_base_loopbreak(base);
		pthread_join(thread, NULL);
		evhttp_free(http);
		event_base_free(base);
		running = 0;
	}
	pthread_mutex_lock(&lock);
	g = cur;
	cur = NULL;
	pthread_mutex_unlock(&lock);
	if (g)
		gen_unref(g);
}
