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

void
log_access_request(struct log_buf *b, const struct accesslog_request *r)
{
	char line[ACCESSLOG_LINE_MAX + 1];
	time_t now = time(NULL);

	if (!log_access_enabled())
		return;
	if (b->when != now) {
		b->when = now;
		accesslog_stamp(&b->stamp, now);
	}
	log_access_add(b, line, accesslog_format(line, sizeof(line),
	    atomic_load_explicit(&format, memory_order_relaxed) ==
	    CONF_LOG_JSON, &b->stamp, r));
}

void
log_request_outcome(struct log_limit *lim, const struct accesslog_request *r)
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
	accesslog_reqline(r, reqline, sizeof(reqline));
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
