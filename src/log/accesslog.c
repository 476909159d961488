/*
 * accesslog.c - see accesslog.h.
 */
#include <stdio.h>
#include <string.h>

#include "accesslog.h"

/* Append s[0..n) to out[0..cap), escaping what a log line must not carry.
 * Returns the length written (out stays NUL-terminated). */
static size_t
escape(char *out, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
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

/* The "%r" of the access log, or "-" when the request line is unknown. */
static void
reqline(const struct accesslog_request *r, char *out, size_t cap)
{
	static const char version[] = " HTTP/1.x";
	size_t o, room = cap - sizeof(version);

	if (r->method == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	o = escape(out, room, r->method, strlen(r->method));
	out[o++] = ' ';
	o += escape(out + o, room - o, r->target, r->target_len);
	snprintf(out + o, cap - o, " HTTP/1.%d", r->http_minor);
}

void
accesslog_stamp(char *stamp, size_t cap, time_t when)
{
	struct tm tm;

	localtime_r(&when, &tm);
	if (strftime(stamp, cap, "%d/%b/%Y:%H:%M:%S %z", &tm) == 0 && cap > 0)
		stamp[0] = '\0';
}

size_t
accesslog_format(char *line, size_t cap, const char *stamp,
    const struct accesslog_request *r)
{
	char ref[256] = "-", ua[512] = "-", rl[512], urt[32];
	int n;

	if (cap < 2) {
		if (cap > 0)
			line[0] = '\0';
		return 0;
	}
	reqline(r, rl, sizeof(rl));
	if (r->referer)
		escape(ref, sizeof(ref), r->referer, r->referer_len);
	if (r->user_agent)
		escape(ua, sizeof(ua), r->user_agent, r->user_agent_len);
	if (r->urt >= 0)
		snprintf(urt, sizeof(urt), "%.3f", r->urt);
	else
		snprintf(urt, sizeof(urt), "-");
	n = snprintf(line, cap,
	    "%s - - [%s] \"%s\" %d %llu \"%s\" \"%s\" rt=%.3f urt=%s "
	    "verdict=\"%s\"\n", r->addr, stamp, rl, r->status,
	    (unsigned long long)r->bytes, ref, ua, r->rt, urt,
	    r->verdict ? r->verdict : "forwarded");
	if (n < 0) {
		line[0] = '\0';
		return 0;
	}
	if ((size_t)n >= cap) {
		n = (int)cap - 1;
		line[n - 1] = '\n';
	}
	return (size_t)n;
}
