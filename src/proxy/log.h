/*
 * log.h - error log with levels, and the access log (Combined Log Format
 * plus timings and the verdict's reason).
 *
 * Both go to a file descriptor: stderr, a file opened O_APPEND, or nowhere;
 * the error log may go to syslog instead (LOG_DAEMON, ident lengthguard).
 * log_open(cf, 1) (SIGUSR1, reload) reopens files onto the same descriptor
 * numbers, so worker threads never see a descriptor change under them; a
 * file that cannot be reopened (after the privilege drop, a file only root
 * may write) is logged and its old descriptor kept. Each worker buffers its
 * access lines and flushes them after every event loop pass.
 *
 * When stderr is the systemd journal (JOURNAL_STREAM names stderr's device
 * and inode), error lines on stderr carry neither a time stamp nor the
 * process's name, which the journal records itself, but a "<N>" priority
 * prefix (sd-daemon(3)) that it reads.
 */
#ifndef LG_LOG_H
#define LG_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "accesslog.h"
#include "conf.h"

#include <sys/types.h>

int  log_open(const struct conf *, int reopen);

/* Files log_open() creates from now on are given to this owner (the user
 * the process will drop to), so that it can reopen them later. */
void log_owner(uid_t, gid_t);
void log_msg(enum conf_log_level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int  log_access_enabled(void);

#define log_error(...)	log_msg(CONF_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(CONF_LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(CONF_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(CONF_LOG_DEBUG, __VA_ARGS__)

/* A per-worker access log buffer, and its cached time stamp. */
struct log_buf {
	char	buf[16384];
	size_t	len;
	time_t	when;
	char	stamp[40];		/* "%d/%b/%Y:%H:%M:%S %z" of `when` */
};
void log_access_add(struct log_buf *, const char *line, size_t len);
void log_access_flush(struct log_buf *);

/*
 * Add one access log line: the Combined Log Format, then rt=, urt= and
 * verdict="...". Bytes a log line must not carry are escaped as \xHH.
 */
void log_access_request(struct log_buf *, const struct accesslog_request *);

#endif /* LG_LOG_H */
