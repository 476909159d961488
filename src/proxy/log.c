/*
 * log.c - see log.h.
 */
#include <sys/stat.h>

#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int error_fd = 2;
static int access_fd = 2;
static enum conf_log_level level = CONF_LOG_INFO;
static atomic_int format;		/* enum conf_log_format; reloads set it */
static int use_syslog;			/* the error log goes to syslog */
static int syslog_opened;
static int journal = -1;		/* stderr is the journal; -1: not known */
static uid_t owner_uid = (uid_t)-1;
static gid_t owner_gid = (gid_t)-1;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

void
log_owner(uid_t uid, gid_t gid)
{
	owner_uid = uid;
	owner_gid = gid;
}

/*
 * Is stderr the journal? systemd sets JOURNAL_STREAM to "DEV:INODE" of the
 * stream it connects to stderr; a child whose stderr was redirected
 * inherits the variable, hence the comparison.
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(2, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* Open `path` onto descriptor *fd (kept if already a file of ours).
 * On failure, *fd is left as it was. */
static int
open_onto(const char *path, int *fd)
{
	int nfd;

	if (path == NULL) {
		*fd = -1;
		return 0;
	}
	if (strcmp(path, "stderr") == 0) {
		*fd = 2;
		return 0;
	}
	/* a file created here is given to the user we drop to */
	nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644);
	if (nfd >= 0 && owner_uid != (uid_t)-1 &&
	    fchown(nfd, owner_uid, owner_gid) != 0)
		log_msg(CONF_LOG_WARN, "%s: cannot give it to uid %u: %s", path,
		    (unsigned)owner_uid, strerror(errno));
	if (nfd < 0 && errno == EEXIST)
		nfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (nfd < 0) {
		log_msg(CONF_LOG_ERROR, "cannot open log file %s: %s%s",
		    path, strerror(errno), *fd > 2 ?
		    "; writing on to the file opened before" : "");
		return -1;
	}
	if (*fd > 2) {
		/* same number: threads writing to it switch files atomically */
		if (dup3(nfd, *fd, O_CLOEXEC) < 0) {
			close(nfd);
			return -1;
		}
		close(nfd);
	} else {
		*fd = nfd;
	}
	return 0;
}

int
log_open(const struct conf *cf, int reopen)
{
	int rv = 0;

	if (!reopen) {
		if (error_fd > 2)
			close(error_fd);
		if (access_fd > 2 && access_fd != error_fd)
			close(access_fd);
		error_fd = access_fd = 2;
	}
	if (journal == -1)
		journal = stderr_is_journal();
	if (cf->error_log != NULL && strcmp(cf->error_log, "syslog") == 0) {
		if (!syslog_opened) {
			/* LOG_NDELAY: connect now, before any privilege drop
			 * or chroot could make /dev/log unreachable */
			openlog("lengthguard", LOG_PID | LOG_NDELAY, LOG_DAEMON);
			syslog_opened = 1;
		}
		if (error_fd > 2 && error_fd != access_fd)
			close(error_fd);
		error_fd = -1;
		use_syslog = 1;
	} else {
		if (use_syslog && error_fd < 0)
			error_fd = 2;
		use_syslog = 0;
		if (open_onto(cf->error_log, &error_fd) != 0)
			rv = -1;
	}
	if (open_onto(cf->access_log, &access_fd) != 0)
		rv = -1;
	level = cf->log_level;
	atomic_store_explicit(&format, (int)cf->log_format, memory_order_relaxed);
	return rv;
}

void
log_msg(enum conf_log_level l, const char *fmt, ...)
{
	char line[1024];
	struct tm tm;
	time_t now;
	va_list ap;
	int n, m;

	if (l > level)
		return;
	if (use_syslog) {
		va_start(ap, fmt);
		m = vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		if (m >= 0)
			syslog(level_prio[l], "%s: %s", level_names[l], line);
		return;
	}
	if (error_fd < 0)
		return;
	if (error_fd == 2 && journal == 1) {
		n = snprintf(line, sizeof(line), "<%d>%s: ", level_prio[l],
		    level_names[l]);
	} else {
		now = time(NULL);
		localtime_r(&now, &tm);
		n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S%z ",
		    &tm);
		n += snprintf(line + n, sizeof(line) - (size_t)n,
		    "lengthguard[%d] %s: ", (int)getpid(), level_names[l]);
	}
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(error_fd, line, (size_t)n) < 0)
		return;
}

int
log_enabled(enum conf_log_level l)
{
	return l <= level && (use_syslog || error_fd >= 0);
}

int
log_access_enabled(void)
{
	return access_fd >= 0;
}

void
log_access_flush(struct log_buf *b)
{
	ssize_t n;

	if (b->len > 0 && access_fd >= 0) {
		n = write(access_fd, b->buf, b->len);
		(void)n;	/* a failed log write has nowhere to go */
	}
	b->len = 0;
}

void
log_access_add(struct log_buf *b, const char *line, size_t len)
{
	if (len > sizeof(b->buf) - b->len)
		log_access_flush(b);
	if (len > sizeof(b->buf))
		len = sizeof(b->buf);
	memcpy(b->buf + b->len, line, len);
	b->len += len;
}

/* Append s[0..n) to out[0..cap), escaping what a log line must not carry.
 * Returns the length written (out stays NUL-terminated). */
static size_t
log_escape(char *out, size_t cap, const char *s, size_t n)
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

size_t
log_json_escape(char *out, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
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

/* The "%r" of the access log, or "-" when the request line is unknown. */
static void
log_reqline(const struct log_request *r, char *out, size_t cap)
{
	static const char version[] = " HTTP/1.x";
	size_t o, room = cap - sizeof(version);

	if (r->method == NULL && r->line_len > 0) {
		/* refused before the core read a method: the line as it came */
		o = log_escape(out, cap - sizeof("..."), r->line, r->line_len);
		if (r->line_cut)
			memcpy(out + o, "...", sizeof("..."));
		return;
	}
	if (r->method == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	o = log_escape(out, room, r->method, strlen(r->method));
	out[o++] = ' ';
	o += log_escape(out + o, room - o, r->target, r->target_len);
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
	o = 1 + log_json_escape(out + 1, cap - 2, s, n);
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

/*
 * The json format: one object, keys always in this order, a value null
 * when it is not known (README.md lists them).
 */
static int
log_access_json(struct log_buf *b, const struct log_request *r, char *line,
    size_t cap)
{
	char addr[96], req[1100], method[64], target[1100], ver[16], ref[600],
	    ua[1100], verdict[160], reason[96], cls[32], up[600], urt[32];
	char raw[600];
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
	json_value(verdict, sizeof(verdict), r->verdict ? r->verdict :
	    "forwarded", strlen(r->verdict ? r->verdict : "forwarded"));
	json_value(reason, sizeof(reason), r->reason, r->reason ?
	    strlen(r->reason) : 0);
	json_value(cls, sizeof(cls), r->cls, r->cls ? strlen(r->cls) : 0);
	json_value(up, sizeof(up), r->upstream, r->upstream ?
	    strlen(r->upstream) : 0);
	if (r->urt >= 0)
		snprintf(urt, sizeof(urt), "%.3f", r->urt);
	else
		snprintf(urt, sizeof(urt), "null");
	return snprintf(line, cap, "{\"time\":\"%s\",\"client\":%s,"
	    "\"request\":%s,\"method\":%s,\"target\":%s,\"version\":%s,"
	    "\"request_cut\":%s,\"status\":%d,\"bytes\":%llu,\"referer\":%s,"
	    "\"user_agent\":%s,\"rt\":%.3f,\"urt\":%s,\"verdict\":%s,"
	    "\"reason\":%s,\"class\":%s,\"upstream\":%s,"
	    "\"would_refuse\":%s}\n", b->iso, addr,
	    req, method, target, ver, r->method == NULL && r->line_cut ?
	    "true" : "false", r->status, (unsigned long long)r->bytes, ref, ua,
	    r->rt, urt, verdict, reason, cls, up,
	    r->would_refuse ? "true" : "false");
}

void
log_access_request(struct log_buf *b, const struct log_request *r)
{
	char line[8192], ref[256] = "-", ua[512] = "-", reqline[512], urt[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (!log_access_enabled())
		return;
	if (b->when != now) {
		b->when = now;
		localtime_r(&now, &tm);
		strftime(b->stamp, sizeof(b->stamp), "%d/%b/%Y:%H:%M:%S %z", &tm);
		strftime(b->iso, sizeof(b->iso), "%Y-%m-%dT%H:%M:%S%z", &tm);
	}
	if (atomic_load_explicit(&format, memory_order_relaxed) ==
	    CONF_LOG_JSON) {
		n = log_access_json(b, r, line, sizeof(line));
		goto add;
	}
	log_reqline(r, reqline, sizeof(reqline));
	if (r->referer)
		log_escape(ref, sizeof(ref), r->referer, r->referer_len);
	if (r->user_agent)
		log_escape(ua, sizeof(ua), r->user_agent, r->user_agent_len);
	if (r->urt >= 0)
		snprintf(urt, sizeof(urt), "%.3f", r->urt);
	else
		snprintf(urt, sizeof(urt), "-");
	n = snprintf(line, sizeof(line),
	    "%s - - [%s] \"%s\" %d %llu \"%s\" \"%s\" rt=%.3f urt=%s "
	    "verdict=\"%s\" class=%s\n", r->addr, b->stamp, reqline, r->status,
	    (unsigned long long)r->bytes, ref, ua, r->rt, urt,
	    r->verdict ? r->verdict : "forwarded", r->cls ? r->cls : "-");
add:
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	log_access_add(b, line, (size_t)n);
}

void
log_request_outcome(struct log_limit *lim, const struct log_request *r)
{
	enum conf_log_level l;
	char reqline[512], urt[32];
	time_t now;

	if (r->reason == NULL)
		return;
	l = r->would_refuse ? CONF_LOG_INFO : r->status >= 500 ? CONF_LOG_WARN :
	    r->status == 499 ? CONF_LOG_DEBUG : CONF_LOG_INFO;
	if (!log_enabled(l))
		return;
	now = time(NULL);
	if (now != lim->sec) {
		if (lim->suppressed > 0)
			log_msg(CONF_LOG_WARN, "suppressed %u request line%s (at "
			    "most %d a second per worker)", lim->suppressed,
			    lim->suppressed == 1 ? "" : "s",
			    LOG_REQUEST_LINES_PER_S);
		lim->sec = now;
		lim->n = 0;
		lim->suppressed = 0;
	}
	if (lim->n >= LOG_REQUEST_LINES_PER_S) {
		lim->suppressed++;
		return;
	}
	lim->n++;
	log_reqline(r, reqline, sizeof(reqline));
	if (r->urt >= 0)
		snprintf(urt, sizeof(urt), "%.3f", r->urt);
	else
		snprintf(urt, sizeof(urt), "-");
	if (r->would_refuse) {
		log_msg(l, "request would be refused: %d %s client=%s "
		    "request=\"%s\" upstream=%s class=%s rt=%.3f urt=%s "
		    "(forwarded: %d)", r->would_status, r->reason, r->addr,
		    reqline, r->upstream ? r->upstream : "-",
		    r->cls ? r->cls : "-", r->rt, urt, r->status);
		return;
	}
	log_msg(l, "request %s: %d %s client=%s request=\"%s\" upstream=%s "
	    "class=%s rt=%.3f urt=%s", r->status == 502 || r->status == 504 ? "failed" :
	    r->status == 499 ? "abandoned" : "refused", r->status, r->reason,
	    r->addr, reqline, r->upstream ? r->upstream : "-",
	    r->cls ? r->cls : "-", r->rt, urt);
}
