"""test_servers.py - lengthguard-preload inside real, unmodified servers.

Each server of Debian (Python's http.server with its CGI handler and with
a wsgiref app, busybox httpd with a CGI, lighttpd with mod_cgi, nginx in
front of a small origin, gunicorn with sync workers) runs with LD_PRELOAD
set to the built library (LG_PRELOAD_LIB, else LG_PRELOAD, else the build's
own) and LENGTHGUARD_CONF set to a conf of the test. The application
behind it (servers_app.py) records every request it handles, with the
sha256 of the body it read: a refused request must leave no record, an
approved one must arrive whole.

PENDING lists the cases that fail for a feature the library does not have
yet, each with the reason; they are skipped saying so (LG_RUN_PENDING=1
runs them anyway, to see which a newer library fixes). TestUnguarded
records what each server does alone with a chunked POST.

Loopback only; every socket has a timeout, every wait is on a port, a
log line or a reply.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402
from harness import Client, Process, build_request  # noqa: E402

APP = os.path.join(HERE, "servers_app.py")
# Debian's python for the servers and the CGI scripts (which run as
# nobody under http.server's CGI handler)
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) \
    else sys.executable
LIB = os.environ.get("LG_PRELOAD_LIB") or os.environ.get("LG_PRELOAD") or \
    os.path.join(harness.BUILD, "liblengthguard-preload.so")
RUNTIME = os.environ.get("LG_PRELOAD_RUNTIME", "").split()
# an ASan + UBSan copy of the library and the runtimes to preload before it
ASAN_LIB = os.environ.get("LG_PRELOAD_ASAN")
ASAN_RUNTIME = os.environ.get("LG_PRELOAD_ASAN_RUNTIME", "").split()
RUN_PENDING = os.environ.get("LG_RUN_PENDING") == "1"

BIG = 10 << 20          # the largest body
BIG_TIMEOUT = 60.0      # for a 10 MiB body through a CGI
BYTE_PAUSE = 0.003      # between the 1-byte writes (input pacing)
SPIN_PAUSE = 0.5        # a head left incomplete for this long

# "server.test": why it fails with the library as it is (skipped). Empty:
# every case passes on every server.
PENDING = {}


def page_lines(status):
    """The plain lines of pages/STATUS.md (no markup): the reply must
    carry them."""
    out = []
    with open(os.path.join(harness.PAGES_DIR, "%d.md" % status)) as f:
        for line in f:
            m = re.match(r"^> (.{30,})$", line.rstrip("\n"))
            if m and re.fullmatch(r"[A-Za-z0-9 .,'-]+", m.group(1)):
                out.append(m.group(1).strip().encode())
    return out




def tree_pids(pid):
    """pid and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def tree_cpu(pids):
    """User + system CPU seconds of the processes pids and their
    descendants (those alive now)."""
    total = 0
    for p in {q for pid in pids for q in tree_pids(pid)}:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def cgi_script(path, record):
    with open(path, "w") as f:
        f.write("#!%s\nimport sys\nsys.path.insert(0, %r)\n"
                "import servers_app\nservers_app.cgi_main(%r)\n"
                % (PYTHON, HERE, record))
    os.chmod(path, 0o755)


# ---------------------------------------------------------------- servers

class Server:
    """One server and the application behind it, in its own directory.
    Subclasses give start(); `target` is where the application is."""

    name = None
    target = "/"
    keepalive = True    # the server keeps connections open
    wsgi = False        # the application runs under WSGI (not as CGI)
    binary = None

    def __init__(self, tmp, preload):
        self.dir = os.path.join(tmp, self.name)
        os.makedirs(self.dir)
        self.record = os.path.join(self.dir, "record.jsonl")
        self.preload = preload
        self.procs = []
        self.port = None

    @classmethod
    def available(cls):
        return cls.binary is None or shutil.which(cls.binary) is not None

    def env(self, guarded=True):
        e = dict(os.environ)
        for k in ("LD_PRELOAD", "LENGTHGUARD_CONF", "LENGTHGUARD_PAGES"):
            e.pop(k, None)
        e["LG_APP_RECORD"] = self.record
        e["PYTHONDONTWRITEBYTECODE"] = "1"
        if guarded and self.preload:
            conf = os.path.join(self.dir, "lengthguard.conf")
            # (conf_load wants [proxy] listen and upstream: the library
            # ignores them)
            harness.write_conf(conf, {
                "proxy": {"listen": "127.0.0.1:1", "upstream": "127.0.0.1:1"},
                "limits": {"max_body_size": "16m"},
                "pages": {"dir": harness.PAGES_DIR}})
            e["LD_PRELOAD"] = self.preload
            e["LENGTHGUARD_CONF"] = conf
        return e

    def spawn(self, name, argv, env):
        trace = os.environ.get("LG_SERVERS_STRACE")
        if trace:   # a directory: strace -f of every server, for diagnosis
            argv = [shutil.which("strace") or "strace", "-f", "-tt", "-s", "80", "-o",
                    os.path.join(trace, "%s.trace" % name)] + argv
        p = Process(name, argv, env=env)
        self.procs.append(p)
        return p

    def url(self, tag):
        return "%s?t=%s" % (self.target, tag)

    def records(self, tag=None):
        try:
            with open(self.record) as f:
                recs = [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []
        return [r for r in recs if tag is None or r["query"] == "t=" + tag]

    def alive(self):
        return all(p.alive() for p in self.procs)

    def pids(self):
        """The server's own processes (not the origin behind nginx)."""
        return [p.pid for p in self.procs if p.name == self.name]

    def stop(self):
        for p in reversed(self.procs):
            p.stop(timeout=3.0)

    def tail(self):
        return "\n".join(p.log.tail(40) for p in self.procs)


class PyCGI(Server):
    """http.server's CGIHTTPRequestHandler: reads the head one byte at a
    time (unbuffered), forks, dup2s the socket onto the script's stdin and
    stdout, execs it; HTTP/1.0, one request per connection."""
    name = "python-cgi"
    target = "/cgi-bin/app.cgi"
    keepalive = False

    def start(self, guarded=True):
        # as root, the handler runs the script as nobody: it must reach
        # the script and write the record
        os.chmod(os.path.dirname(self.dir), 0o755)
        os.chmod(self.dir, 0o777)
        www = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(www, "cgi-bin"))
        cgi_script(os.path.join(www, "cgi-bin", "app.cgi"), self.record)
        p = self.spawn(self.name, [PYTHON, APP, "cgi-serve", www],
                       self.env(guarded))
        self.port = int(p.wait_line(r"^listening on (\d+)$").group(1))


class Wsgiref(Server):
    """wsgiref.simple_server (http.server underneath), one thread per
    connection, one request per connection."""
    name = "wsgiref"
    keepalive = False
    wsgi = True

    def start(self, guarded=True):
        p = self.spawn(self.name, [PYTHON, APP, "serve", self.record],
                       self.env(guarded))
        self.port = int(p.wait_line(r"^listening on (\d+)$").group(1))


class Busybox(Server):
    """busybox httpd -f: forks a child per connection, which runs the CGI
    with the body on a pipe; closes after every response."""
    name = "busybox"
    target = "/cgi-bin/app"
    keepalive = False
    binary = "busybox"

    def start(self, guarded=True):
        www = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(www, "cgi-bin"))
        cgi_script(os.path.join(www, "cgi-bin", "app"), self.record)
        self.port = harness.free_port()
        p = self.spawn(self.name, [shutil.which("busybox"), "httpd", "-f",
                                   "-p", "127.0.0.1:%d" % self.port,
                                   "-h", www], self.env(guarded))
        harness.wait_port(p, self.port)


class Lighttpd(Server):
    """lighttpd -D (epoll), mod_cgi; keep-alive."""
    name = "lighttpd"
    target = "/app.cgi"
    binary = "lighttpd"

    def start(self, guarded=True):
        www = os.path.join(self.dir, "www")
        tmp = os.path.join(self.dir, "tmp")
        os.makedirs(www)
        os.makedirs(tmp)
        cgi_script(os.path.join(www, "app.cgi"), self.record)
        self.port = harness.free_port()
        conf = os.path.join(self.dir, "lighttpd.conf")
        with open(conf, "w") as f:
            f.write('server.document-root = "%s"\n'
                    'server.bind = "127.0.0.1"\n'
                    'server.port = %d\n'
                    'server.modules = ("mod_cgi")\n'
                    'cgi.assign = (".cgi" => "")\n'
                    'server.upload-dirs = ("%s")\n'
                    'server.errorlog = "%s"\n'
                    'server.max-request-size = 20480\n'
                    % (www, self.port, tmp,
                       os.path.join(self.dir, "error.log")))
        p = self.spawn(self.name, [shutil.which("lighttpd"), "-D", "-f", conf],
                       self.env(guarded))
        harness.wait_port(p, self.port)


class Nginx(Server):
    """nginx (master and one worker: edge-triggered epoll, recv) proxying
    to the wsgiref origin, which runs without the library."""
    name = "nginx"
    wsgi = True
    binary = "nginx"

    def start(self, guarded=True):
        origin = self.spawn("origin", [PYTHON, APP, "serve",
                                       self.record], self.env(False))
        oport = int(origin.wait_line(r"^listening on (\d+)$").group(1))
        self.port = harness.free_port()
        d = self.dir
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("daemon off;\nuser root;\nworker_processes 1;\n"
                    "pid %s/nginx.pid;\nerror_log %s/error.log info;\n"
                    "events { worker_connections 256; }\n"
                    "http {\n access_log off;\n"
                    " client_body_temp_path %s/body;\n"
                    " proxy_temp_path %s/proxy;\n"
                    " fastcgi_temp_path %s/fastcgi;\n"
                    " uwsgi_temp_path %s/uwsgi;\n scgi_temp_path %s/scgi;\n"
                    " client_max_body_size 0;\n"
                    " server {\n  listen 127.0.0.1:%d;\n"
                    "  location / { proxy_pass http://127.0.0.1:%d; }\n"
                    " }\n}\n" % ((d,) * 7 + (self.port, oport)))
        p = self.spawn(self.name, [shutil.which("nginx"), "-p", d, "-c", conf,
                                   "-e", os.path.join(d, "error.log")],
                       self.env(guarded))
        harness.wait_port(p, self.port)


class Gunicorn(Server):
    """gunicorn: an arbiter and two prefork sync workers (which accept
    themselves); one request per connection."""
    name = "gunicorn"
    keepalive = False
    wsgi = True
    binary = "gunicorn"

    def start(self, guarded=True):
        p = self.spawn(self.name, [shutil.which("gunicorn"), "--workers", "2",
                                   "--worker-class", "sync",
                                   "--bind", "127.0.0.1:0", "--chdir", HERE,
                                   "servers_app:application"],
                       self.env(guarded))
        self.port = int(p.wait_line(
            r"Listening at: http://127\.0\.0\.1:(\d+) ").group(1))
        p.wait_line(r"Booting worker with pid")
        harness.wait_port(p, self.port)


SERVERS = (PyCGI, Wsgiref, Busybox, Lighttpd, Nginx, Gunicorn)


# ---------------------------------------------------------------- cases

CHUNKED = b"5\r\nhello\r\n0\r\n\r\n"


class Cases:
    """The cases of one server under the library. setUpClass starts the
    server once; each case tags its requests (?t=NAME) and reads the
    application's records for that tag."""

    server_class = None
    preload = None      # what LD_PRELOAD holds

    @classmethod
    def setUpClass(cls):
        if not cls.server_class.available():
            raise unittest.SkipTest("%s is not installed (./dev test "
                                    "installs it)" % cls.server_class.binary)
        if not os.path.exists(LIB):
            raise AssertionError("%s is not built (set LG_BUILD or "
                                 "LG_PRELOAD_LIB)" % LIB)
        cls.tmp = tempfile.mkdtemp(prefix="lg-servers-")
        cls.srv = cls.server_class(cls.tmp, cls.preload or
                                   " ".join(RUNTIME + [LIB]))
        try:
            cls.srv.start()
        except BaseException:
            cls.srv.stop()
            shutil.rmtree(cls.tmp, True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, True)

    def setUp(self):
        key = "%s.%s" % (self.srv.name, self._testMethodName)
        if key in PENDING and not RUN_PENDING:
            self.skipTest("PENDING: " + PENDING[key])
        if not self.srv.alive():
            self.fail("%s is not running:\n%s" % (self.srv.name,
                                                  self.srv.tail()))
        self.clients = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for c in self.clients:
            c.close()
        failed = harness._test_failed(self)
        if failed or os.environ.get("LG_E2E_VERBOSE"):
            sys.stderr.write("\n--- %s\n%s\n" % (self.id(), self.srv.tail()))

    def client(self, timeout=harness.IO_TIMEOUT):
        c = Client(self.srv.port, timeout=timeout)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.clients.append(c)
        return c

    def tag(self, part=""):
        return self._testMethodName + part

    def req(self, method, tag, headers=(), body=None, version="HTTP/1.1"):
        return build_request(method, self.srv.url(tag), headers, body,
                             version=version)

    def sentinel(self):
        """A GET on a new connection, answered: the server is alive and has
        handled what came before (the app records before it answers)."""
        r = self.client().request("GET", self.srv.url(self.tag("-sentinel")))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"hello\n")
        self.assertEqual(len(self.srv.records(self.tag("-sentinel"))), 1)

    def assert_refused(self, data, status):
        c = self.client()
        c.send(data)
        r = c.read_response()
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("Server"), "lengthguard", r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assertTrue(c.at_eof(), "the connection stays open after %d"
                        % status)
        self.sentinel()
        self.assertEqual(self.srv.records(self.tag()), [],
                         "the application received the request")
        return r

    def assert_411_then_eof(self, c):
        """The next response on c is lengthguard's 411, then end of
        stream, and the application saw nothing of the refused request."""
        r = c.read_response()
        self.assertEqual(r.status, 411, r)
        self.assertEqual(r.header("Server"), "lengthguard", r)
        self.assertTrue(c.at_eof())
        self.sentinel()
        self.assertEqual(self.srv.records(self.tag()), [])

    def assert_answered(self, r, method, body, tag=None):
        """r is the application's answer to (method, body), and the app
        recorded exactly that body."""
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.header("Server"), "lengthguard", r)
        want = hashlib.sha256(body).hexdigest()
        self.assertEqual(r.body, b"hello\n" if method == "GET"
                         else (want + "\n").encode())
        recs = self.srv.records(tag or self.tag())
        self.assertEqual([(x["method"], x["len"], x["sha256"]) for x in recs],
                         [(method, len(body), want)])

    # -- refusals

    def test_chunked_411(self):
        r = self.assert_refused(self.req("POST", self.tag(), [
            ("Transfer-Encoding", "chunked")]) + CHUNKED, 411)
        lines = page_lines(411)
        self.assertTrue(lines, "no plain line in pages/411.md")
        for line in lines:
            self.assertIn(line, r.body)

    def test_post_without_length_411(self):
        self.assert_refused(self.req("POST", self.tag()), 411)

    def test_cl_te_400(self):
        self.assert_refused(self.req("POST", self.tag(), [
            ("Content-Length", "15"), ("Transfer-Encoding", "chunked")]) +
            CHUNKED, 400)

    def test_two_content_lengths_400(self):
        self.assert_refused(self.req("POST", self.tag(), [
            ("Content-Length", "1"), ("Content-Length", "1")]) + b"x", 400)

    def test_obs_fold_400(self):
        # RFC 9112 §5.2: obs-fold in a request is refused
        self.assert_refused(self.req("GET", self.tag(), [
            ("X-Folded", "one\r\n two")]), 400)

    def test_bare_lf_400(self):
        # RFC 9112 §2.2: a bare LF as line terminator is refused here
        self.assert_refused(("GET %s HTTP/1.1\nHost: test\n\n" %
                             self.srv.url(self.tag())).encode(), 400)

    # -- approved requests

    def test_get(self):
        r = self.client().request("GET", self.srv.url(self.tag()))
        self.assert_answered(r, "GET", b"")

    def post(self, size, timeout=harness.IO_TIMEOUT):
        body = os.urandom(size)
        c = self.client(timeout)
        r = c.request("POST", self.srv.url(self.tag()), body=body)
        self.assert_answered(r, "POST", body)

    def test_post_1(self):
        self.post(1)

    def test_post_1000(self):
        self.post(1000)

    def test_post_100k(self):
        self.post(100 * 1024 + 7)

    def test_post_10mib(self):
        self.post(BIG, BIG_TIMEOUT)

    def test_keep_alive(self):
        c = self.client()
        body = b"the second request's body"
        r1 = c.request("GET", self.srv.url(self.tag("-1")))
        self.assert_answered(r1, "GET", b"", self.tag("-1"))
        if not self.srv.keepalive:
            # this server closes after each response, guarded or not
            self.assertTrue(c.at_eof())
            return
        r2 = c.request("POST", self.srv.url(self.tag("-2")), body=body)
        r3 = c.request("GET", self.srv.url(self.tag("-3")))
        self.assert_answered(r2, "POST", body, self.tag("-2"))
        self.assert_answered(r3, "GET", b"", self.tag("-3"))

    def test_pipelined(self):
        body = b"y" * 1000
        c = self.client()
        c.send(self.req("POST", self.tag("-1"), body=body) +
               self.req("GET", self.tag("-2")) +
               self.req("POST", self.tag("-3"), body=body))
        self.assert_answered(c.read_response(), "POST", body, self.tag("-1"))
        if not self.srv.keepalive:
            self.assertTrue(c.at_eof())
            self.sentinel()
            self.assertEqual(self.srv.records(self.tag("-2")) +
                             self.srv.records(self.tag("-3")), [])
            return
        self.assert_answered(c.read_response(), "GET", b"", self.tag("-2"))
        self.assert_answered(c.read_response(), "POST", body, self.tag("-3"))

    def test_pipelined_then_chunked(self):
        if not self.srv.keepalive:
            self.skipTest("%s closes after each response" % self.srv.name)
        c = self.client()
        c.send(self.req("GET", self.tag("-1")) +
               self.req("POST", self.tag(), [
                   ("Transfer-Encoding", "chunked")]) + CHUNKED)
        self.assert_answered(c.read_response(), "GET", b"", self.tag("-1"))
        self.assert_411_then_eof(c)

    def test_pipelined_large_then_chunked(self):
        # a GET answered in pieces (by the application, slowly), then a
        # chunked POST, in one send: the response must come whole before
        # the 411. nginx, proxying, takes a read side's end reported while
        # it writes the response for the client gone (499): the guard's
        # wake-up must wait for the response's last byte
        if not self.srv.keepalive or not self.srv.wsgi:
            self.skipTest("%s closes after each response, or runs the "
                          "application as CGI" % self.srv.name)
        c = self.client()
        tag = self.tag("-1") + "&big=300000"
        c.send(self.req("GET", tag) +
               self.req("POST", self.tag(), [
                   ("Transfer-Encoding", "chunked")]) + CHUNKED)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        recs = self.srv.records(tag)
        self.assertEqual([(x["method"], x["out_len"], x["out_sha256"])
                          for x in recs],
                         [("GET", len(r.body),
                           hashlib.sha256(r.body).hexdigest())])
        self.assertEqual(len(r.body), 300000)
        self.assert_411_then_eof(c)

    def test_keep_alive_then_chunked(self):
        # a refusal on a connection that already carried a request
        if not self.srv.keepalive:
            self.skipTest("%s closes after each response" % self.srv.name)
        c = self.client()
        r = c.request("GET", self.srv.url(self.tag("-1")))
        self.assert_answered(r, "GET", b"", self.tag("-1"))
        c.send(self.req("POST", self.tag(), [
            ("Transfer-Encoding", "chunked")]) + CHUNKED)
        self.assert_411_then_eof(c)

    def test_partial_head_without_spinning(self):
        # while a head is incomplete, the server (all its processes and
        # threads) sleeps until a new byte comes: the guard takes the
        # part that came out of the kernel's queue and holds it, so no
        # poll/epoll/blocking read wakes on it
        c = self.client()
        c.send(("GET %s HTTP/1.1\r\nHost: t" %
                self.srv.url(self.tag())).encode())
        self.sentinel()                     # the server is at work
        before = tree_cpu(self.srv.pids())
        time.sleep(SPIN_PAUSE)  # input pacing: the head comes in two parts
        used = tree_cpu(self.srv.pids()) - before
        c.send(b"\r\n\r\n")
        self.assert_answered(c.read_response(), "GET", b"")
        self.assertLess(used, SPIN_PAUSE / 4,
                        "%s used %.2f s of CPU in a %.2f s pause"
                        % (self.srv.name, used, SPIN_PAUSE))

    def test_one_byte_writes(self):
        body = b"0123456789"
        data = self.req("POST", self.tag(), body=body)
        c = self.client()
        for i in range(len(data)):
            c.send(data[i:i + 1])
            time.sleep(BYTE_PAUSE)  # input pacing, not synchronisation
        self.assert_answered(c.read_response(), "POST", body)


def make_case_classes():
    out = {}
    for cls in SERVERS:
        name = "Test" + cls.__name__
        out[name] = type(name, (Cases, unittest.TestCase),
                         {"server_class": cls})
    return out


globals().update(make_case_classes())


class TestNginxAsan(Cases, unittest.TestCase):
    """nginx again, with the ASan + UBSan copy of the library (its
    runtimes preloaded first): an error aborts nginx and fails the case."""
    server_class = Nginx

    @classmethod
    def setUpClass(cls):
        if not ASAN_LIB or not ASAN_RUNTIME:
            raise unittest.SkipTest("no ASan build of the library "
                                    "(LG_PRELOAD_ASAN, LG_PRELOAD_ASAN_RUNTIME)")
        cls.preload = " ".join(ASAN_RUNTIME + [ASAN_LIB])
        os.environ.setdefault("ASAN_OPTIONS",
                              "detect_leaks=0:abort_on_error=1")
        os.environ.setdefault("UBSAN_OPTIONS",
                              "halt_on_error=1:print_stacktrace=1")
        super().setUpClass()

    def test_asan_is_loaded(self):
        with open("/proc/%d/maps" % self.srv.procs[-1].pid) as f:
            maps = f.read()
        self.assertIn(os.path.realpath(ASAN_LIB), maps)
        self.assertIn("libasan", maps)


# ---------------------------------------------------------------- alone

# What each server does alone with a chunked POST ("5\r\nhello\r\n0..."):
# (status, the CONTENT_LENGTH the application saw, the body it read:
# "raw" the chunked bytes themselves, "decoded" hello, "none" nothing)
ALONE = {
    "python-cgi": (200, None, "raw"),
    "wsgiref": (200, None, "none"),
    "busybox": (200, None, "raw"),
    "lighttpd": (200, "5", "decoded"),
    "nginx": (200, "5", "decoded"),
    "gunicorn": (200, None, "decoded"),
}


class TestUnguarded(unittest.TestCase):
    """Each server without the library, sent a chunked POST: what reaches
    the application (the README's table). Observed behaviour, asserted."""

    def observe(self, cls):
        tmp = tempfile.mkdtemp(prefix="lg-servers-")
        self.addCleanup(shutil.rmtree, tmp, True)
        srv = cls(tmp, None)
        self.addCleanup(srv.stop)
        srv.start(guarded=False)
        c = Client(srv.port, timeout=5.0)
        self.addCleanup(c.close)
        c.send(build_request("POST", srv.url("chunked"), [
            ("Transfer-Encoding", "chunked")]) + CHUNKED)
        r = c.read_response()
        s = Client(srv.port, timeout=5.0)
        self.addCleanup(s.close)
        self.assertEqual(s.request("GET", srv.url("sentinel")).status, 200)
        recs = srv.records("chunked")
        self.assertEqual(len(recs), 1, recs)
        body = recs[0]["head"].encode("latin-1")
        kind = {CHUNKED: "raw", b"hello": "decoded", b"": "none"}.get(
            body, repr(body))
        seen = (r.status, recs[0]["cl"], kind)
        sys.stderr.write("\n  alone: %-10s -> %d, app: Content-Length %s, "
                         "body %s, Transfer-Encoding %s\n" % (
                             cls.name, r.status, recs[0]["cl"], kind,
                             recs[0]["te"]))
        self.assertEqual(seen, ALONE[cls.name])


def make_alone_tests():
    for cls in SERVERS:
        def test(self, cls=cls):
            if not cls.available():
                self.skipTest("%s is not installed" % cls.binary)
            self.observe(cls)
        setattr(TestUnguarded, "test_%s" % cls.name.replace("-", "_"), test)


make_alone_tests()


if __name__ == "__main__":
    unittest.main()
