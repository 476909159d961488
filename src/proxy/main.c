/*
 * main.c - command line, signals, configuration generations, privileges.
 *
 *   lengthguard [-c FILE]	run in the foreground (logs to stderr)
 *   lengthguard -t [-c FILE]	check the configuration, pages and log files
 *   lengthguard -s SIGNAL [-c FILE]	signal the instance of FILE's pidfile
 *   lengthguard -V, -h		print the version, the usage
 *
 * Signals (the main thread waits for them; workers never see them):
 *   SIGTERM, SIGINT	stop accepting, finish requests in flight, exit 0
 *   SIGHUP		reload conf and pages; a broken new one is logged and
 *			the old one stays
 *   SIGUSR1		reopen log files
 *
 * Start: load the conf, open the logs, bind (workers_start), write the
 * pidfile, then drop to [proxy] user; as root without a user, refuse.
 */

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admin.h"
#include "conf.h"
#include "log.h"
#include "pages.h"
#include "proxy.h"
#include "spool.h"

/*
 * The conf read without -c. The installed binary is built with the
 * installed conf's absolute path (CMakeLists.txt); the build tree's keeps
 * the checkout's, relative to the current directory.
 */
#ifndef LG_DEFAULT_CONF
#define LG_DEFAULT_CONF "conf/lengthguard.conf"
#endif

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: lengthguard [-c file] [-t | -s signal] [-V] [-h]\n"
	    "  -c, --conf file      configuration (default %s)\n"
	    "  -t, --test           check the configuration, pages and log "
	    "files, then exit\n"
	    "  -s, --signal signal  send reload, stop, quit or reopen to the "
	    "instance\n"
	    "                       whose pid is in the conf's [proxy] pidfile\n"
	    "  -V, --version        print the version\n"
	    "  -h, --help           print this help\n", LG_DEFAULT_CONF);
}

/* Resolve the upstreams now, so a request never waits on DNS. */
static int
gen_resolve(struct gen *g, FILE *errs)
{
	struct addrinfo hints, *res;
	char port[8];
	int i, rv = 0, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	for (i = 0; i < g->conf.nupstream; i++) {
		const struct conf_addr *a = &g->conf.upstream[i];

		snprintf(port, sizeof(port), "%u", a->port);
		if ((e = getaddrinfo(a->host, port, &hints, &res)) != 0) {
			fprintf(errs, "%s:%d: [proxy] upstream: cannot resolve %s: %s\n",
			    g->conf.path, a->line, a->host, gai_strerror(e));
			rv = -1;
			continue;
		}
		memcpy(&g->upstream[i], res->ai_addr, res->ai_addrlen);
		g->upstream_len[i] = res->ai_addrlen;
		freeaddrinfo(res);
		if (strchr(a->host, ':'))
			snprintf(g->upstream_host[i], sizeof(g->upstream_host[i]),
			    "[%s]:%u", a->host, a->port);
		else
			snprintf(g->upstream_host[i], sizeof(g->upstream_host[i]),
			    "%s:%u", a->host, a->port);
	}
	return rv;
}

struct gen *
gen_load(const char *path, FILE *errs)
{
	struct gen *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	atomic_init(&g->refs, 1);
	if (conf_load(path, &g->conf, errs) != 0) {
		free(g);
		return NULL;
	}
	g->pages = pages_load_with(g->conf.pages_dir,
	    g->conf.server_header ? 0 : PAGES_NO_SERVER, errs);
	if (g->pages == NULL || gen_resolve(g, errs) != 0) {
		gen_unref(g);
		return NULL;
	}
	return g;
}

void
gen_ref(struct gen *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void
gen_unref(struct gen *g)
{
	if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1) {
		pages_unref(g->pages);
		conf_free(&g->conf);
		free(g);
	}
}

/*
 * Every client connection takes a descriptor, its upstream connection
 * another, and a body received whole a temporary file until it is sent;
 * idle pooled connections and the process's own take the rest.
 * Raise the soft RLIMIT_NOFILE towards that (up to the hard limit), and
 * say so when even the hard limit is too low: accepting then pauses
 * whenever descriptors run out, instead of serving max_connections.
 */
static void
check_nofile(const struct conf *cf, int nworkers)
{
	struct rlimit rl;
	rlim_t need;

	need = ((rlim_t)cf->max_connections * 3 +
	    (rlim_t)cf->upstream_pool_size * (rlim_t)cf->nupstream +
	    (rlim_t)cf->nlisten) * (rlim_t)nworkers + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ?
		    need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 &&
		    getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("max_connections %u with %d worker%s needs about %llu "
		    "descriptors, but RLIMIT_NOFILE is %llu: accepting pauses "
		    "whenever they run out", cf->max_connections, nworkers,
		    nworkers == 1 ? "" : "s", (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
}

/* Say, at start and at each reload that changes it, that requests
 * enforcement would refuse are forwarded (docs/classes.md). */
static void
say_mode(const struct conf *cf, const struct conf *was)
{
	if (was != NULL && was->policy.mode == cf->policy.mode)
		return;
	if (cf->policy.mode == FRAMING_MONITOR)
		log_warn("[policy] mode = monitor: requests enforce mode would "
		    "refuse for policy or an acceptable or ambiguous reason are "
		    "forwarded, logged and counted as would_refuse");
	else if (was != NULL)
		log_info("[policy] mode = enforce");
}

/* Reload on SIGHUP: errors go to the error log, the old gen stays. */
static struct gen *
reload(const char *path, struct gen *cur, int nworkers)
{
	char *msg = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&msg, &len);
	struct gen *g;

	if (errs == NULL)
		return cur;
	g = gen_load(path, errs);
	fclose(errs);
	if (g == NULL) {
		admin_reloaded(cur, 0, msg ? msg : "");	/* before it is said */
		log_error("reload failed, keeping the running configuration:\n%s",
		    msg ? msg : "");
		free(msg);
		return cur;
	}
	free(msg);
	g->generation = cur->generation + 1;
	if (g->conf.nlisten != cur->conf.nlisten ||
	    memcmp(g->conf.listen, cur->conf.listen, sizeof(g->conf.listen)) != 0)
		log_warn("listen addresses changed: they take effect on restart");
	if (g->conf.workers != cur->conf.workers)
		log_warn("[proxy] workers changed: it takes effect on restart");
	if ((g->conf.user == NULL) != (cur->conf.user == NULL) ||
	    (g->conf.user && (g->conf.uid != cur->conf.uid ||
	    g->conf.gid != cur->conf.gid)))
		log_warn("[proxy] user changed: it takes effect on restart");
	if ((g->conf.pidfile == NULL) != (cur->conf.pidfile == NULL) ||
	    (g->conf.pidfile && strcmp(g->conf.pidfile, cur->conf.pidfile) != 0))
		log_warn("[proxy] pidfile changed: it takes effect on restart");
	log_open(&g->conf, 1);
	check_nofile(&g->conf, nworkers);
	say_mode(&g->conf, &cur->conf);
	workers_reload(g);
	admin_reloaded(g, 1, NULL);
	gen_unref(cur);
	log_info("configuration reloaded from %s", path);
	return g;
}

/* ------------------------------------------------------- privileges */

/*
 * Must this process change its user? 1: drop to cf->uid/gid; 0: stay as
 * it is; -1: refuse to run (as root with no [proxy] user), said on `out`.
 * Not running as root, a user other than ours is ignored with a warning
 * (nginx does the same): only root can switch.
 */
static int
must_drop(const struct conf *cf, FILE *out, int warn)
{
	if (geteuid() != 0) {
		if (warn && cf->user != NULL && cf->uid != geteuid())
			fprintf(out, "lengthguard: [warn] %s:%d: [proxy] user "
			    "ignored: only root can switch users (running as "
			    "uid %u)\n", cf->path, cf->user_line,
			    (unsigned)geteuid());
		return 0;
	}
	if (cf->user == NULL) {
		fprintf(out, "lengthguard: %s: running as root needs [proxy] "
		    "user: name an unprivileged user to serve as (or "
		    "\"user = root\" to serve as root on purpose)\n", cf->path);
		return -1;
	}
	return cf->uid != 0 || cf->gid != 0;
}

/*
 * Become cf->user: its supplementary groups, then the group, then the
 * user (that order: once the uid is not 0 the others are not allowed).
 * glibc applies each to every thread of the process. Then check that the
 * way back is closed: setuid(0) must fail. 0, or -1 with the reason on
 * `out`.
 */
static int
drop_privileges(const struct conf *cf, FILE *out)
{
	if (initgroups(cf->user, cf->gid) != 0) {
		fprintf(out, "lengthguard: initgroups(%s): %s\n", cf->user,
		    strerror(errno));
		return -1;
	}
	if (setgid(cf->gid) != 0) {
		fprintf(out, "lengthguard: setgid(%u): %s\n", (unsigned)cf->gid,
		    strerror(errno));
		return -1;
	}
	if (setuid(cf->uid) != 0) {
		fprintf(out, "lengthguard: setuid(%u): %s\n", (unsigned)cf->uid,
		    strerror(errno));
		return -1;
	}
	if (cf->uid != 0 && (setuid(0) == 0 || geteuid() != cf->uid ||
	    getuid() != cf->uid)) {
		fprintf(out, "lengthguard: dropping to user %s did not "
		    "hold: still able to become root\n", cf->user);
		return -1;
	}
	return 0;
}

/*
 * Run try(arg) in a child that first drops to [proxy] user when `drop`, so
 * that what it finds is the kernel's answer for that user, ACLs and all.
 * try returns 0, 1 (a case of its own) or -1 with errno set. The result:
 * 0 or 1 from try, -1 when the child itself failed (said on stderr), or
 * 3 + the errno try failed with (3: none known).
 */
static int
as_user(const struct conf *cf, int drop, int (*try)(const char *),
    const char *arg)
{
	int status, r;
	pid_t pid;

	fflush(stderr);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "lengthguard: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (drop && drop_privileges(cf, stderr) != 0)
			_exit(2);
		if ((r = try(arg)) >= 0)
			_exit(r);
		_exit(errno > 0 && errno < 250 ? errno + 3 : 3);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
		return -1;		/* the child said why */
	return WEXITSTATUS(status);
}

/* the errno of an as_user() result above 2, or 0 */
static int
as_user_errno(int r)
{
	return r > 3 ? r - 3 : 0;
}

/* as_user: open the log file for appending; 1 when it does not exist */
static int
try_append(const char *path)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) >= 0) {
		close(fd);
		return 0;
	}
	return errno == ENOENT ? 1 : -1;
}

/* as_user: make a temporary body file the way a worker does */
static int
try_tmpfile(const char *dir)
{
	int fd;

	if ((fd = spool_tmpfile(dir)) < 0)
		return -1;
	close(fd);
	return 0;
}

/*
 * Can `user` (the process itself when no drop is due) append to the log
 * file `path`? An existing file must open for appending. A missing one is
 * created at start, before the drop, and given to the user (log_owner):
 * its directory must be writable by this process. 0, or -1 reported on
 * stderr.
 */
static int
check_log_file(const struct conf *cf, int drop, const char *what, int line,
    const char *path)
{
	const char *who = drop ? cf->user : "this user", *slash;
	char dir[PATH_MAX];
	int r, e;

	if (path == NULL || strcmp(path, "stderr") == 0 ||
	    strcmp(path, "syslog") == 0)
		return 0;
	if ((r = as_user(cf, drop, try_append, path)) <= 0)
		return r;
	if (r == 1) {
		slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
		if (access(dir, W_OK | X_OK) == 0)
			return 0;
		fprintf(stderr, "lengthguard: %s:%d: [log] %s: \"%s\" cannot "
		    "be created in %s: %s\n", cf->path, line, what, path, dir,
		    strerror(errno));
		return -1;
	}
	e = as_user_errno(r);
	fprintf(stderr, "lengthguard: %s:%d: [log] %s: \"%s\" cannot be "
	    "opened for appending by %s: %s\n", cf->path, line, what, path, who,
	    e ? strerror(e) : "check failed");
	return -1;
}

/*
 * Can `user` (the process itself when no drop is due) make the temporary
 * files of request bodies in [proxy] temp_dir (spool_tmpfile)? 0, or -1
 * reported on stderr.
 */
static int
check_temp_dir(const struct conf *cf, int drop)
{
	const char *who = drop ? cf->user : "this user";
	int r, e;

	if ((r = as_user(cf, drop, try_tmpfile, cf->temp_dir)) <= 0)
		return r;
	e = as_user_errno(r);
	fprintf(stderr, "lengthguard: %s:%d: [proxy] temp_dir: \"%s\": %s "
	    "cannot make a temporary file there: %s\n", cf->path,
	    cf->temp_dir_line, cf->temp_dir, who,
	    e ? strerror(e) : "check failed");
	return -1;
}

/* ------------------------------------------------------- the pidfile */

static int
pidfile_write(const char *path)
{
	char buf[32];
	int fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		log_error("cannot write pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_error("cannot write pidfile %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* Remove the pidfile at exit. After the drop, its directory must be
 * writable by the user (systemd's RuntimeDirectory=, or /run/lengthguard
 * owned by it); if not, say so. */
static void
pidfile_remove(const char *path)
{
	if (path != NULL && unlink(path) != 0 && errno != ENOENT)
		log_warn("cannot remove pidfile %s: %s", path, strerror(errno));
}

static const struct {
	const char *name;
	int sig;
	const char *signame;
} signals[] = {
	{ "reload", SIGHUP, "SIGHUP" },
	{ "stop", SIGTERM, "SIGTERM" },
	{ "quit", SIGTERM, "SIGTERM" },	/* SIGTERM is graceful already */
	{ "reopen", SIGUSR1, "SIGUSR1" },
};

/* The first line of /proc/PID/comm into buf (NUL-terminated), or "". */
static void
read_comm(const char *pid, char *buf, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * Is `pid` a lengthguard? A pidfile left behind (a crash, or a directory
 * the unprivileged user could not remove it from) may name a pid that
 * another program has now: compare its command name with ours. Where
 * /proc cannot tell, assume it is.
 */
static int
is_lengthguard(pid_t pid)
{
	char p[32], theirs[64], ours[64];
	struct stat st;

	snprintf(p, sizeof(p), "%d", (int)pid);
	read_comm("self", ours, sizeof(ours));
	read_comm(p, theirs, sizeof(theirs));
	if (ours[0] == '\0' || theirs[0] == '\0') {
		snprintf(p, sizeof(p), "/proc/%d", (int)pid);
		/* no such process: let kill() say so */
		return ours[0] == '\0' || stat(p, &st) != 0;
	}
	return strcmp(ours, theirs) == 0;
}

/* -s NAME: signal the instance whose pid the conf's pidfile holds. */
static int
send_signal(const char *path, const char *name)
{
	struct conf cf;
	char buf[32], *end;
	size_t i;
	long pid;
	ssize_t n;
	int fd, rv = 1;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(name, signals[i].name) == 0)
			break;
	if (i == sizeof(signals) / sizeof(signals[0])) {
		fprintf(stderr, "lengthguard: invalid signal \"%s\" (use "
		    "reload, stop, quit or reopen)\n", name);
		return 1;
	}
	if (conf_load(path, &cf, stderr) != 0) {
		fprintf(stderr, "lengthguard: configuration file %s has "
		    "errors\n", path);
		return 1;
	}
	if (cf.pidfile == NULL) {
		fprintf(stderr, "lengthguard: %s: no [proxy] pidfile: cannot "
		    "find the running instance\n", cf.path);
		goto done;
	}
	if ((fd = open(cf.pidfile, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "lengthguard: cannot open pidfile %s: %s%s\n",
		    cf.pidfile, strerror(errno), errno == ENOENT ?
		    " (is lengthguard running?)" : "");
		goto done;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (n <= 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    errno != 0 || pid <= 1 || pid > INT_MAX) {
		fprintf(stderr, "lengthguard: pidfile %s holds no valid "
		    "pid\n", cf.pidfile);
		goto done;
	}
	if (!is_lengthguard((pid_t)pid)) {
		fprintf(stderr, "lengthguard: pid %ld (from %s) is not "
		    "lengthguard (stale pidfile?)\n", pid, cf.pidfile);
		goto done;
	}
	if (kill((pid_t)pid, signals[i].sig) != 0) {
		fprintf(stderr, "lengthguard: cannot send %s to pid %ld (from "
		    "%s): %s%s\n", signals[i].signame, pid, cf.pidfile,
		    strerror(errno), errno == ESRCH ? " (stale pidfile?)" : "");
		goto done;
	}
	rv = 0;
done:
	conf_free(&cf);
	return rv;
}

/* -t: the conf, pages, upstream names, then what the server will need of
 * its user. nginx's words, on stderr as nginx writes them. */
static int
test_conf(const char *path)
{
	char *abs = realpath(path, NULL);
	const char *name = abs ? abs : path;
	struct gen *g;
	int drop, rv = 1;

	if ((g = gen_load(path, stderr)) == NULL)
		goto fail;
	fprintf(stderr, "lengthguard: the configuration file %s syntax is "
	    "ok\n", g->conf.path);
	if ((drop = must_drop(&g->conf, stderr, 1)) < 0)
		goto fail;
	if (check_log_file(&g->conf, drop, "error", g->conf.error_log_line,
	    g->conf.error_log) != 0 ||
	    check_log_file(&g->conf, drop, "access", g->conf.access_log_line,
	    g->conf.access_log) != 0 || check_temp_dir(&g->conf, drop) != 0)
		goto fail;
	fprintf(stderr, "lengthguard: configuration file %s test is "
	    "successful\n", g->conf.path);
	rv = 0;
fail:
	if (rv != 0)
		fprintf(stderr, "lengthguard: configuration file %s test "
		    "failed\n", g ? g->conf.path : name);
	gen_unref(g);
	free(abs);
	return rv;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "conf", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "signal", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = LG_DEFAULT_CONF, *signame = NULL;
	char *pidfile = NULL;
	int test = 0, ch, n, i, sig, drop;
	struct gen *g;
	sigset_t set;
	long ncpu;

	while ((ch = getopt_long(argc, argv, "c:ts:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 's':
			signame = optarg;
			break;
		case 'V':
			printf("lengthguard %s\n", LG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc || (test && signame)) {
		usage(stderr);
		return 1;
	}
	if (signame)
		return send_signal(path, signame);
	if (test)
		return test_conf(path);
	if ((g = gen_load(path, stderr)) == NULL) {
		fprintf(stderr, "lengthguard: configuration file %s has errors\n",
		    path);
		return 1;
	}
	if ((drop = must_drop(&g->conf, stderr, 0)) < 0) {
		gen_unref(g);
		return 1;
	}
	g->generation = 1;

	/* signals are taken by this thread only, with sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (drop)
		log_owner(g->conf.uid, g->conf.gid);
	if (log_open(&g->conf, 0) != 0)
		return 1;
	if (geteuid() != 0 && g->conf.user != NULL && g->conf.uid != geteuid())
		log_warn("[proxy] user = %s ignored: not running as root",
		    g->conf.user);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	n = g->conf.workers ? g->conf.workers : (ncpu > 0 ? (int)ncpu : 1);
	check_nofile(&g->conf, n);
	if (workers_start(g, n) != 0) {
		log_error("cannot start");
		return 1;
	}
	if (admin_start(g) != 0) {
		log_error("cannot start");
		return 1;
	}
	if (g->conf.pidfile != NULL) {
		if (pidfile_write(g->conf.pidfile) != 0)
			return 1;
		pidfile = strdup(g->conf.pidfile);
	}
	/*
	 * The workers have bound but accept nothing until workers_serve(),
	 * below: no connection is ever served before the switch. glibc
	 * applies it to every thread.
	 */
	if (drop) {
		char *msg = NULL;
		size_t len = 0;
		FILE *errs = open_memstream(&msg, &len);

		if (errs == NULL || drop_privileges(&g->conf, errs) != 0) {
			if (errs != NULL)
				fclose(errs);
			log_error("cannot drop privileges: %s",
			    msg ? msg : "out of memory");
			free(msg);
			pidfile_remove(pidfile);
			return 1;
		}
		fclose(errs);
		free(msg);
		log_info("running as user %s, group %s (uid %u, gid %u)",
		    g->conf.user, g->conf.group, (unsigned)g->conf.uid,
		    (unsigned)g->conf.gid);
	} else if (geteuid() == 0) {
		log_warn("running as root (user = root): a service should run "
		    "as an unprivileged user");
	}
	workers_serve();
	say_mode(&g->conf, NULL);
	for (i = 0; i < g->conf.nlisten; i++)
		log_info("listening on %s:%u (%d worker%s)", g->conf.listen[i].host,
		    g->conf.listen[i].port, n, n == 1 ? "" : "s");

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			g = reload(path, g, n);
		} else if (sig == SIGUSR1) {
			if (log_open(&g->conf, 1) == 0)
				log_info("log files reopened");
		} else {
			break;
		}
	}
	log_info("stopping: finishing requests in flight (grace %u ms)",
	    g->conf.shutdown_timeout);
	workers_stop();
	if (workers_wait(g->conf.shutdown_timeout) != 0) {
		log_warn("grace period over, exiting with requests in flight");
		pidfile_remove(pidfile);
		free(pidfile);
		return 0;
	}
	pidfile_remove(pidfile);
	free(pidfile);
	admin_stop();
	log_info("stopped");
	gen_unref(g);
	return 0;
}
