/*
 * accesslog.c - see accesslog.h.
 */
#include <stdio.h>
#include <string.h>

#include "accesslog.h"
#include "framing.h"

static const char hex[] = "0123456789abcdef";

/* Append s[0..n) to out[0..cap), escaping what a log line must not carry.
 * Returns the length written (out stays NUL-terminated). */
static size_t
escape(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 4 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == '"' || ch == '\\' || ch >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	if (cap > 0)
		out[o] = '\0';
	return o;
}

size_t
accesslog_json_escape(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 7 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			memcpy(out + o, "\\u00", sizeof("\\u00") - 1);
			o += sizeof("\\u00") - 1;
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else {
			out[o++] = (char)ch;
		}
	}
	if (cap > 0)
		out[o] = '\0';
	return o;
}

void
accesslog_request_from(struct accesslog_request *l, const struct framing *f)
{
	const struct framing_request *r = f ? framing_request(f) : NULL;

	if (r == NULL)
		return;
	if (r->method_name == NULL) {
		l->line = r->line;	/* refused before its method was read */
		l->line_len = r->line_len;
		l->line_cut = r->line_cut;
		return;
	}
	l->method = r->method_name;
	l->target = r->target;
	l->target_len = r->target_len;
	l->http_minor = r->http_minor;
	l->referer = framing_field(f, "referer", &l->referer_len);
	l->user_agent = framing_field(f, "user-agent", &l->user_agent_len);
}

void
accesslog_stamp(struct accesslog_stamp *st, time_t when)
{
	struct tm tm;

	localtime_r(&when, &tm);
	strftime(st->clf, sizeof(st->clf), "%d/%b/%Y:%H:%M:%S %z", &tm);
	strftime(st->iso, sizeof(st->iso), "%Y-%m-%dT%H:%M:%S%z", &tm);
}

void
accesslog_reqline(const struct accesslog_request *r, char *out, size_t cap)
{
	static const char version[] = " HTTP/1.x";
	size_t o, room = cap - sizeof(version);

	if (r->method == NULL && r->line_len > 0) {
		/* refused before the core read a method: the line as it came */
		o = escape(out, cap - sizeof("..."), r->line, r->line_len);
		if (r->line_cut)
			memcpy(out + o, "...", sizeof("..."));
		return;
	}
	if (r->method == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	o = escape(out, room, r->method, strlen(r->method));
	out[o++] = ' ';
	o += escape(out + o, room - o, r->target, r->target_len);
	snprintf(out + o, cap - o, " HTTP/1.%d", r->http_minor);
}

/* A JSON value: s[0..n) as a string, or null when s is NULL. */
static size_t
json_value(char *out, size_t cap, const char *s, size_t n)
{
	size_t o;

	if (s == NULL)
		return (size_t)snprintf(out, cap, "null");
	if (cap < 3)
		return 0;
	out[0] = '"';
	o = 1 + accesslog_json_escape(out + 1, cap - 2, s, n);
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

/* strlen, 0 for NULL */
static size_t
len0(const char *s)
{
	return s ? strlen(s) : 0;
}

/*
 * The json format: one object, keys always in this order, a value null
 * when it is not known (README.md lists them).
 */
static int
format_json(char *line, size_t cap, const struct accesslog_stamp *st,
    const struct accesslog_request *r)
{
	char addr[96], req[1100], method[64], target[1100], ver[16], ref[600],
	    ua[1100], verdict[160], reason[96], cls[32], up[600], urt[32];
	char raw[600];
	const char *v = r->verdict ? r->verdict : "forwarded";
	size_t rl = 0;

	json_value(addr, sizeof(addr), r->addr, strlen(r->addr));
	if (r->method != NULL) {
		rl = (size_t)snprintf(raw, sizeof(raw), "%s %.*s HTTP/1.%d",
		    r->method, (int)(r->target_len < 400 ? r->target_len : 400),
		    r->target, r->http_minor);
		json_value(req, sizeof(req), raw, rl < sizeof(raw) ? rl :
		    sizeof(raw) - 1);
		json_value(method, sizeof(method), r->method, strlen(r->method));
		json_value(target, sizeof(target), r->target, r->target_len <
		    400 ? r->target_len : 400);
		snprintf(ver, sizeof(ver), "\"HTTP/1.%d\"", r->http_minor);
	} else {
		json_value(req, sizeof(req), r->line_len ? r->line : NULL,
		    r->line_len < 400 ? r->line_len : 400);
		snprintf(method, sizeof(method), "null");
		snprintf(target, sizeof(target), "null");
		snprintf(ver, sizeof(ver), "null");
	}
	json_value(ref, sizeof(ref), r->referer, r->referer_len < 250 ?
	    r->referer_len : 250);
	json_value(ua, sizeof(ua), r->user_agent, r->user_agent_len < 500 ?
	    r->user_agent_len : 500);
	json_value(verdict, sizeof(verdict), v, strlen(v));
	json_value(reason, sizeof(reason), r->reason, len0(r->reason));
	json_value(cls, sizeof(cls), r->cls, len0(r->cls));
	json_value(up, sizeof(up), r->upstream, len0(r->upstream));
	if (r->urt >= 0)
		snprintf(urt, sizeof(urt), "%.3f", r->urt);
	else
		snprintf(urt, sizeof(urt), "null");
	return snprintf(line, cap, "{\"time\":\"%s\",\"client\":%s,"
	    "\"request\":%s,\"method\":%s,\"target\":%s,\"version\":%s,"
	    "\"request_cut\":%s,\"status\":%d,\"bytes\":%llu,\"referer\":%s,"
	    "\"user_agent\":%s,\"rt\":%.3f,\"urt\":%s,\"verdict\":%s,"
	    "\"reason\":%s,\"class\":%s,\"upstream\":%s,"
	    "\"would_refuse\":%s}\n", st->iso, addr,
	    req, method, target, ver, r->method == NULL && r->line_cut ?
	    "true" : "false", r->status, (unsigned long long)r->bytes, ref, ua,
	    r->rt, urt, verdict, reason, cls, up,
	    r->would_refuse ? "true" : "false");
}

/* The combined format, then rt=, urt=, verdict= and class=. */
static int
format_combined(char *line, size_t cap, const struct accesslog_stamp *st,
    const struct accesslog_request *r)
{
	char ref[256] = "-", ua[512] = "-", reqline[512], urt[32];

	accesslog_reqline(r, reqline, sizeof(reqline));
	if (r->referer)
		escape(ref, sizeof(ref), r->referer, r->referer_len);
	if (r->user_agent)
		escape(ua, sizeof(ua), r->user_agent, r->user_agent_len);
	if (r->urt >= 0)
		snprintf(urt, sizeof(urt), "%.3f", r->urt);
	else
		snprintf(urt, sizeof(urt), "-");
	return snprintf(line, cap,
	    "%s - - [%s] \"%s\" %d %llu \"%s\" \"%s\" rt=%.3f urt=%s "
	    "verdict=\"%s\" class=%s\n", r->addr, st->clf, reqline, r->status,
	    (unsigned long long)r->bytes, ref, ua, r->rt, urt,
	    r->verdict ? r->verdict : "forwarded", r->cls ? r->cls : "-");
}

size_t
accesslog_format(char *line, size_t cap, int json,
    const struct accesslog_stamp *st, const struct accesslog_request *r)
{
	int n;

	if (cap < 2)
		return 0;
	n = json ? format_json(line, cap, st, r) :
	    format_combined(line, cap, st, r);
	if (n < 0)
		return 0;
	if ((size_t)n >= cap) {
		n = (int)cap - 1;
		line[n - 1] = '\n';
	}
	return (size_t)n;
}
