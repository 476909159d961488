/*
 * log.c - see log.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int error_fd = 2;
static int access_fd = 2;
static enum conf_log_level level = CONF_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* Open `path` onto descriptor *fd (kept if already a file of ours). */
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
	nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (nfd < 0) {
		fprintf(stderr, "lengthguard: %s: %s\n", path, strerror(errno));
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
	if (open_onto(cf->error_log, &error_fd) != 0)
		rv = -1;
	if (open_onto(cf->access_log, &access_fd) != 0)
		rv = -1;
	level = cf->log_level;
	return rv;
}

void
log_set_level(enum conf_log_level l)
{
	level = l;
}

void
log_msg(enum conf_log_level l, const char *fmt, ...)
{
	char line[1024];
	struct tm tm;
	time_t now;
	va_list ap;
	int n, m;

	if (l > level || error_fd < 0)
		return;
	now = time(NULL);
	localtime_r(&now, &tm);
	n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S%z ", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "lengthguard[%d] %s: ",
	    (int)getpid(), level_names[l]);
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
