"""test_preload.py - lengthguard-preload inside Python's http.server.

The application (app.py, ThreadingHTTPServer in HTTP/1.1 mode) runs with
LD_PRELOAD set to the built library, and once without it: what the
application itself logs shows which requests reached it. Loopback only;
every wait is on a port, a log line or a bounded socket timeout.
"""

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import syslog
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import harness  # noqa: E402
from harness import build_request  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from host import BAD_LENGTH, NOT_A_RESPONSE  # noqa: E402

APP = os.path.join(HERE, "app.py")
LIB = os.environ.get("LG_PRELOAD") or \
    os.path.join(harness.BUILD, "liblengthguard-preload.so")
# libraries to preload before it: the sanitizers' runtimes for a library
# built with LG_SANITIZE (they must come first)
PRELOAD = " ".join(os.environ.get("LG_PRELOAD_RUNTIME", "").split() + [LIB])

# the calls the library interposes, and nothing else it exports
INTERPOSED = {"accept", "accept4", "read", "readv", "recv", "recvfrom",
              "recvmsg", "close", "__read_chk", "__recv_chk",
              "__recvfrom_chk", "dup", "dup2", "dup3", "fcntl", "fcntl64",
              "write", "writev", "send", "sendto", "sendmsg", "sendfile",
              "sendfile64", "fclose", "close_range", "closefrom",
              "recvmmsg", "freopen", "freopen64"}
RUNTIME = {"_init", "_fini", "_edata", "_end", "__bss_start"}

APP_RX = re.compile(r"^app: (\S+) (\S+) te=(\S+) cl=(\S+) len=(\d+) "
                    r"sha256=([0-9a-f]{64}) conn=(\d+) timeout=(\S+)$")
CHUNKED = build_request("POST", "/chunked",
                        [("Transfer-Encoding", "chunked")]) + \
    b"5\r\nhello\r\n0\r\n\r\n"


PAUSE = 0.5


def cpu_seconds(pid):
    """User + system CPU time of process pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class App(harness.Process):
    def __init__(self, guarded=True, env=None):
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        e.pop("LENGTHGUARD_CONF", None)
        if guarded:
            e["LD_PRELOAD"] = PRELOAD
        e.update(env or {})
        super().__init__("app", [sys.executable, "-u", APP], env=e)

    def ready(self):
        self.port = int(self.wait_line(r"^listening on (\d+)$").group(1))
        return self

    def requests(self):
        return [m.groups() for m in map(APP_RX.match, self.log.lines()) if m]


class PreloadCase(harness.E2ECase):
    guarded = True
    env = None

    def setUp(self):
        super().setUp()
        if not os.path.exists(LIB):
            self.fail("%s is not built (set LG_BUILD or LG_PRELOAD)" % LIB)
        self.app = App(self.guarded, self.env)
        self.procs.append(self.app)
        self.app.ready()

    def send(self, data, timeout=harness.IO_TIMEOUT):
        c = self.client(self.app.port, timeout)
        c.send(data)
        return c

    def sentinel(self):
        """A GET on a new connection, answered and logged: the application
        has handled everything sent before it (its log is in order)."""
        mark = self.app.log.mark()
        r = self.client(self.app.port).request("GET", "/sentinel")
        self.assertEqual(r.status, 200)
        self.app.wait_line(r"^app: GET /sentinel ", since=mark)

    def assert_refused(self, data, status, target):
        c = self.send(data)
        r = c.read_response()
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("Server"), "lengthguard", r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assertEqual(len(r.body), int(r.header("Content-Length")))
        self.assertTrue(c.at_eof(), "the connection stays open after %d" % status)
        self.sentinel()
        seen = [q for q in self.app.requests() if q[1] == target]
        self.assertEqual(seen, [], "the application received %s" % target)
        return r


class TestGuarded(PreloadCase):
    def test_chunked_post_411(self):
        r = self.assert_refused(CHUNKED, 411, "/chunked")
        with open(os.path.join(harness.PAGES_DIR, "411.md"), "rb") as f:
            title = re.search(rb"^title: *(.+)$", f.read(), re.M)
        if title:
            self.assertIn(title.group(1).strip(), r.body)

    def test_post_without_length_411(self):
        self.assert_refused(build_request("POST", "/nolength", body=None),
                            411, "/nolength")

    def test_cl_te_400(self):
        self.assert_refused(build_request(
            "POST", "/clte", [("Content-Length", "5"),
                              ("Transfer-Encoding", "chunked")]) +
            b"5\r\nhello\r\n0\r\n\r\n", 400, "/clte")

    def test_two_content_lengths_400(self):
        self.assert_refused(build_request(
            "POST", "/twocl", [("Content-Length", "1"),
                               ("Content-Length", "1")]) + b"x", 400, "/twocl")

    def test_proxy_field_400(self):
        # the proxy drops it (httpoxy); in-process it is refused
        self.assert_refused(build_request(
            "GET", "/proxy", [("Proxy", "http://evil.example")]), 400, "/proxy")

    def test_underscore_field_400(self):
        # underscores = drop (the default) cannot drop in-process: refused
        self.assert_refused(build_request(
            "GET", "/underscore", [("Foo_Bar", "1")]), 400, "/underscore")

    def test_absolute_form_400(self):
        self.assert_refused(build_request(
            "GET", "http://test/absolute"), 400, "/absolute")
        self.assertEqual([q for q in self.app.requests()
                          if q[1].endswith("/absolute")], [])

    def test_get_200(self):
        r = self.client(self.app.port).request("GET", "/hello")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"hello\n")
        self.assertTrue(r.header("Server").startswith("BaseHTTP"), r)

    def test_post_1mib(self):
        body = os.urandom(1 << 20)
        c = self.client(self.app.port, timeout=30)
        r = c.request("POST", "/big", body=body)
        self.assertEqual(r.status, 200)
        want = hashlib.sha256(body).hexdigest()
        self.assertEqual(r.body, (want + "\n").encode())
        m = self.app.wait_line(r"^app: POST /big ")
        self.assertIn("len=%d sha256=%s" % (len(body), want), m.string)

    def test_keep_alive(self):
        c = self.client(self.app.port)
        r1 = c.request("GET", "/one")
        body = b"second request's body"
        r2 = c.request("POST", "/two", body=body)
        r3 = c.request("GET", "/three")
        self.assertEqual((r1.status, r2.status, r3.status), (200, 200, 200))
        self.assertEqual(r2.body,
                         (hashlib.sha256(body).hexdigest() + "\n").encode())
        self.app.wait_line(r"^app: GET /three ")
        conns = {q[6] for q in self.app.requests()
                 if q[1] in ("/one", "/two", "/three")}
        self.assertEqual(len(conns), 1, self.app.requests())

    def test_expect_continue_is_the_apps(self):
        # the proxy answers 100-continue itself; here the application does,
        # and the body is read only after it did
        body = b"after the 100"
        c = self.send(build_request("POST", "/expect",
                                    [("Expect", "100-continue"),
                                     ("Content-Length", str(len(body)))]))
        r = c.read_response(stop_at_interim=True)
        self.assertEqual(r.status, 100)
        self.assertNotEqual(r.header("Server"), "lengthguard")
        c.send(body)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body,
                         (hashlib.sha256(body).hexdigest() + "\n").encode())

    def test_pipelined(self):
        body = b"x" * 1000
        c = self.send(build_request("POST", "/p1", body=body) +
                      build_request("GET", "/p2") +
                      build_request("POST", "/p3", body=body))
        rs = [c.read_response() for _ in range(3)]
        self.assertEqual([r.status for r in rs], [200, 200, 200])
        self.assertEqual(rs[1].body, b"hello\n")
        self.assertEqual(rs[2].body,
                         (hashlib.sha256(body).hexdigest() + "\n").encode())

    def test_pipelined_then_chunked(self):
        # an approved request, then a refused one in the same bytes: the
        # first is answered by the application, then the 411 page
        c = self.send(build_request("GET", "/first") + CHUNKED)
        r1 = c.read_response()
        r2 = c.read_response()
        self.assertEqual((r1.status, r2.status), (200, 411))
        self.assertTrue(c.at_eof())
        self.sentinel()
        self.assertEqual([q for q in self.app.requests()
                          if q[1] == "/chunked"], [])

    def test_split_head_and_body(self):
        # a valid request in pieces, with pauses between them
        body = b"0123456789"
        data = build_request("POST", "/split", body=body)
        c = self.client(self.app.port)
        cut = [1, 7, 20, len(data) - len(body), len(data) - 3]
        prev = 0
        for at in cut + [len(data)]:
            c.send(data[prev:at])
            prev = at
            time.sleep(0.05)    # input pacing, not synchronisation
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body,
                         (hashlib.sha256(body).hexdigest() + "\n").encode())

    def test_partial_head_waits_without_spinning(self):
        # while a head is incomplete the application's read (blocking, or
        # poll then recv) must sleep until a new byte comes, not loop on
        # the bytes already queued (SO_RCVLOWAT)
        c = self.client(self.app.port)
        c.send(b"GET /slow HTTP/1.1\r\nHost: t")
        r = self.client(self.app.port).request("GET", "/before")
        self.assertEqual(r.status, 200)     # the server is at work
        before = cpu_seconds(self.app.pid)
        time.sleep(PAUSE)   # input pacing: the head arrives in two parts
        used = cpu_seconds(self.app.pid) - before
        c.send(b"\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        self.assertLess(used, PAUSE / 4,
                        "the application used %.2f s of CPU in a %.2f s pause"
                        % (used, PAUSE))

    def test_cut_head_at_eof_400(self):
        c = self.send(b"GET /cut HTTP/1.1\r\nHost: t")
        c.shutdown_write()
        r = c.read_response()
        self.assertEqual(r.status, 400)
        self.sentinel()
        self.assertEqual([q for q in self.app.requests() if q[1] == "/cut"], [])


class TestGuardedTimeout(TestGuarded):
    """The same with a connection timeout: Python's sockets are then
    non-blocking and waited on with poll (EAGAIN, SO_RCVLOWAT)."""
    env = {"APP_TIMEOUT": "20"}

    def test_nonblocking_sockets(self):
        # the application really runs in this mode
        r = self.client(self.app.port).request("GET", "/mode")
        self.assertEqual(r.status, 200)
        m = self.app.wait_line(r"^app: GET /mode ")
        self.assertIn("timeout=20.0", m.string)


class TestUnguarded(PreloadCase):
    """The same application alone: the chunked POST reaches it. This is
    what the library changes (the test proves the guard does it)."""
    guarded = False

    def test_chunked_post_reaches_the_app(self):
        c = self.send(CHUNKED)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertNotEqual(r.header("Server"), "lengthguard")
        m = self.app.wait_line(r"^app: POST /chunked ")
        self.assertIn("te=chunked", m.string)


HOST = os.path.join(HERE, "host.py")
HOST_RX = re.compile(r"^host: (\S+) (\S+) te=(\S+) len=(\d+)$")


class Host(harness.Process):
    """host.py in one of its modes, under the library (or, for inetd, with
    the library for its children only). wrap: a command that execs the
    host (its argv appended), which then sets LD_PRELOAD itself."""

    def __init__(self, mode, env=None, guarded=True, wrap=()):
        e = dict(os.environ)
        for k in ("LD_PRELOAD", "LENGTHGUARD_CONF", "HOST_CHILD_PRELOAD"):
            e.pop(k, None)
        if guarded and mode == "inetd":
            e["HOST_CHILD_PRELOAD"] = PRELOAD
        elif guarded:
            e["LD_PRELOAD"] = PRELOAD
        e.update(env or {})
        super().__init__("host-" + mode, list(wrap) +
                         [sys.executable, "-u", HOST, mode], env=e)

    def ready(self):
        self.port = int(self.wait_line(r"^listening on (\d+)$").group(1))
        return self

    def requests(self):
        return [m.groups() for m in map(HOST_RX.match, self.log.lines()) if m]


def kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def preload_conf(path, preload=None, limits=None, log=None):
    """A conf for the library: pages, and a [preload] section."""
    settings = {"pages": {"dir": harness.PAGES_DIR}}
    if preload:
        settings["preload"] = preload
    if limits:
        settings["limits"] = limits
    if log:
        settings["log"] = log
    harness.write_conf(path, settings)
    return path


class HostCase(harness.E2ECase):
    def host(self, mode, env=None, guarded=True, wrap=()):
        h = Host(mode, env, guarded, wrap)
        self.procs.append(h)
        return h.ready()

    def conf(self, preload=None, limits=None, log=None):
        return preload_conf(os.path.join(self.tmpdir, "preload.conf"),
                            preload, limits, log)

    def refused(self, h, data=CHUNKED, status=411, target="/chunked"):
        c = self.client(h.port)
        c.send(data)
        r = c.read_response()
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("Server"), "lengthguard", r)
        self.assertTrue(c.at_eof())
        return c

    def served(self, h, target="/ok"):
        body = os.urandom(3000)
        c = self.client(h.port)
        r = c.request("POST", target, body=body)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body,
                         (hashlib.sha256(body).hexdigest() + "\n").encode())
        r = c.request("GET", target + "2")
        self.assertEqual((r.status, r.body), (200, b"hello\n"))

    def assert_never_seen(self, h, target="/chunked"):
        self.assertEqual([q for q in h.requests() if q[1] == target], [])

    def assert_no_spin(self, h):
        c = self.client(h.port)
        c.send(b"GET /slow HTTP/1.1\r\nHost: t")
        r = self.client(h.port).request("GET", "/before")
        self.assertEqual(r.status, 200)
        before = cpu_seconds(h.pid)
        time.sleep(PAUSE)   # input pacing: the head arrives in two parts
        used = cpu_seconds(h.pid) - before
        c.send(b"\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        self.assertLess(used, PAUSE / 4, "%.2f s of CPU in a %.2f s pause"
                        % (used, PAUSE))


class TestEventLoops(HostCase):
    """poll, epoll level- and edge-triggered hosts with non-blocking
    sockets (set with ioctl(FIONBIO) by Python; the guard's reads are the
    host's, so it need not know)."""

    MODES = ("poll", "epoll-lt", "epoll-et")

    def test_guarded_and_served(self):
        for mode in self.MODES:
            with self.subTest(mode=mode):
                h = self.host(mode)
                self.refused(h)
                self.served(h)
                self.assert_never_seen(h)

    def test_partial_head_no_spin(self):
        for mode in self.MODES:
            with self.subTest(mode=mode):
                self.assert_no_spin(self.host(mode))

    def test_pipelined_edge_triggered(self):
        # both requests come in one read: a host that reads once per edge
        # must get both then, no byte of them left queued without an edge
        for mode in self.MODES:
            with self.subTest(mode=mode):
                h = self.host(mode)
                c = self.client(h.port)
                c.send(build_request("GET", "/p1") + build_request("GET", "/p2"))
                rs = [c.read_response() for _ in range(2)]
                self.assertEqual([r.status for r in rs], [200, 200])

    def test_pipelined_burst_edge_triggered(self):
        # more pipelined requests than the host's buffer (64 KiB) and the
        # guard's (16 KiB) hold: the host's reads end short of its length
        # where a head is cut, with more queued; a host that reads once
        # per edge needs a new edge each time
        reqs = [build_request("GET", "/b%d" % i, [("X-Pad", "p" * 1000)])
                for i in range(80)]
        h = self.host("epoll-et")
        c = self.client(h.port)
        c.send(b"".join(reqs))
        rs = [c.read_response() for _ in reqs]
        self.assertEqual([r.status for r in rs], [200] * len(reqs))
        h.wait_line(r"^host: GET /b79 ")

    def reads(self, h, mark):
        """The sizes of the host's reads logged since mark."""
        return [int(l.split()[2]) for l in h.log.lines()[mark:]
                if l.startswith("host: read ")]

    def test_pipelined_then_partial_head(self):
        # one read brings an approved request and the start of the next
        # head: the first is the host's at once; the rest stays in the
        # guard, never in the host's buffer, and never readable again (no
        # spin, no wake-up) until the bytes that complete it arrive
        first = build_request("GET", "/p1")
        second = build_request("GET", "/p2")
        cut = 20
        for mode in self.MODES:
            with self.subTest(mode=mode):
                h = self.host(mode)
                c = self.client(h.port)
                mark = h.log.mark()
                c.send(first + second[:cut])
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"hello\n"))
                h.wait_line(r"^host: GET /p1 ", since=mark)
                self.assertEqual(sum(self.reads(h, mark)), len(first))
                before = cpu_seconds(h.pid)
                time.sleep(PAUSE)   # input pacing: the rest comes later
                used = cpu_seconds(h.pid) - before
                c.send(second[cut:])
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"hello\n"))
                h.wait_line(r"^host: GET /p2 ", since=mark)
                self.assertEqual(sum(self.reads(h, mark)),
                                 len(first) + len(second))
                self.assertLess(used, PAUSE / 4, "%.2f s of CPU in a %.2f s "
                                "pause" % (used, PAUSE))

    def test_approved_then_refused_in_one_read(self):
        # one read brings an approved request and a refused one: the host
        # gets the first; the refusal, found in the same read, must still
        # wake a host that reads once per edge (epoll-et) or polls, once it
        # has answered, so that its next read gets the 411 and EOF
        for mode in self.MODES:
            with self.subTest(mode=mode):
                h = self.host(mode)
                c = self.client(h.port)
                c.send(build_request("GET", "/a") + CHUNKED)
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"hello\n"))
                r = c.read_response()
                self.assertEqual(r.status, 411, r)
                self.assertEqual(r.header("Server"), "lengthguard", r)
                self.assertTrue(c.at_eof())
                h.wait_line(r"^host: eof$")
                self.assert_never_seen(h)

    def test_answered_in_pieces_then_refused(self):
        # approved requests and a refused one in one read, to a host that
        # writes each response in pieces with pauses and takes a read
        # side's end reported meanwhile for the client gone (nginx
        # proxying): every response must reach the client whole, then the
        # 411 and EOF. The host is woken only once its writes hold all the
        # responses: a wake-up at its first write cuts the first one
        cases = ([("GET", "/a")], [("HEAD", "/h")], [("GET", "/interim")],
                 [("GET", "/a1"), ("GET", "/chunk2")])
        for mode in ("poll-slow", "epoll-lt-slow", "epoll-et-slow"):
            h = self.host(mode)
            for reqs in cases:
                with self.subTest(mode=mode, reqs=reqs):
                    self.assert_answered_then_refused(h, reqs)

    def test_close_delimited_then_refused(self):
        # a response delimited by the host's close needs no wake-up (the
        # host closes): it comes whole, then EOF; a wake-up at the host's
        # first write cuts it
        for mode in ("poll-slow", "epoll-lt-slow", "epoll-et-slow"):
            with self.subTest(mode=mode):
                h = self.host(mode)
                c = self.client(h.port)
                mark = h.log.mark()
                c.send(build_request("GET", "/close") + CHUNKED)
                r = c.read_response()
                self.assertEqual((r.status, r.framing), (200, "close"), r)
                sent = h.wait_line(r"^host: sent /close len=(\d+) "
                                   r"sha256=(\w+)$", since=mark)
                self.assertEqual(len(r.body), int(sent.group(1)))
                self.assertEqual(hashlib.sha256(r.body).hexdigest(),
                                 sent.group(2))
                self.assertNotIn("host: client gone", h.log.lines()[mark:])
                self.assert_never_seen(h)

    def test_body_then_refused_in_one_read(self):
        # the host has read a POST's head; one read brings its body and a
        # refused request: the POST's response, counted though its head
        # came in an earlier read, must come whole before the 411
        body = os.urandom(5000)
        head = build_request("POST", "/post", [("Content-Length",
                                                str(len(body)))])
        for mode in ("poll-slow", "epoll-lt-slow", "epoll-et-slow"):
            with self.subTest(mode=mode):
                h = self.host(mode)
                c = self.client(h.port)
                mark = h.log.mark()
                c.send(head)
                h.wait_line(r"^host: read %d$" % len(head), since=mark)
                self.assert_answered_then_refused(
                    h, [("POST", "/post")], c, body, mark)

    def assert_answered_then_refused(self, h, reqs, c=None, first=b"",
                                     mark=None):
        """reqs, sent in one write with a chunked POST after them (after
        `first`, on c, when given), are answered whole, then 411 and EOF."""
        if c is None:
            c = self.client(h.port)
            mark = h.log.mark()
            c.send(b"".join(build_request(m, t) for m, t in reqs) + CHUNKED)
        else:
            c.send(first + CHUNKED)
        for method, target in reqs:
            r = c.read_response(method)
            self.assertEqual(r.status, 200, r)
            sent = h.wait_line(r"^host: sent %s len=(\d+) sha256=(\w+)$"
                               % re.escape(target), since=mark)
            self.assertEqual(len(r.body), int(sent.group(1)), target)
            self.assertEqual(hashlib.sha256(r.body).hexdigest(),
                             sent.group(2), target)
            if method == "HEAD":
                self.assertGreater(int(r.header("Content-Length")), 0)
        r = c.read_response()
        self.assertEqual(r.status, 411, r)
        self.assertEqual(r.header("Server"), "lengthguard", r)
        self.assertTrue(c.at_eof())
        h.wait_line(r"^host: eof$", since=mark)
        self.assertNotIn("host: client gone", h.log.lines()[mark:])
        self.assert_never_seen(h)

    def test_unparsable_answer_then_refused(self):
        # an approved request and a refused one in one read: the guard
        # parses the host's writes for the response before it wakes the
        # host. Bytes that do not parse as a response (none at all, a head
        # whose length is no number) cannot say where it ends: the host
        # must be woken at that write, and its next read (once per edge
        # under epoll-et) get the 411 and EOF, after what the host wrote
        for mode in self.MODES:
            for target, wrote in (("/garbage", NOT_A_RESPONSE),
                                  ("/badlength", BAD_LENGTH)):
                with self.subTest(mode=mode, target=target):
                    h = self.host(mode)
                    c = self.client(h.port)
                    mark = h.log.mark()
                    c.send(build_request("GET", target) + CHUNKED)
                    data = c.read_until_eof(timeout=5)
                    self.assertEqual(data[:len(wrote)], wrote, data)
                    head, _, body = data[len(wrote):].partition(b"\r\n\r\n")
                    head += b"\r\n"
                    self.assertRegex(head, rb"^HTTP/1\.1 411 ")
                    self.assertIn(b"\r\nServer: lengthguard\r\n", head)
                    self.assertIn(b"\r\nContent-Length: %d\r\n" % len(body),
                                  head)
                    h.wait_line(r"^host: GET %s " % target, since=mark)
                    h.wait_line(r"^host: eof$", since=mark)
                    self.assert_never_seen(h)

    def test_more_requests_than_call_heads_then_refused(self):
        # more requests delivered by one read than the guard keeps the
        # HEAD-ness of (64), a HEAD past the 64th, then a refused one: the
        # guard cannot tell where the HEAD's response ends, so the host's
        # next write wakes it. Every request is answered (a host that
        # answers all it has read before it reads again), then 411, EOF
        for n in (65, 70):
            with self.subTest(requests=n):
                h = self.host("epoll-et")
                reqs = [("GET", "/g%d" % i) for i in range(n - 1)] + \
                    [("HEAD", "/h%d" % (n - 1))]
                data = b"".join(build_request(m, t) for m, t in reqs)
                c = self.client(h.port)
                mark = h.log.mark()
                c.send(data + CHUNKED)
                rs = [c.read_response(m) for m, _ in reqs]
                self.assertEqual([(r.status, r.body) for r in rs],
                                 [(200, b"hello\n")] * (n - 1) + [(200, b"")])
                self.assertEqual(rs[-1].header("Content-Length"), "6")
                r = c.read_response()
                self.assertEqual(r.status, 411, r)
                self.assertEqual(r.header("Server"), "lengthguard", r)
                self.assertTrue(c.at_eof())
                h.wait_line(r"^host: eof$", since=mark)
                # all came in one read of the host's
                self.assertEqual(self.reads(h, mark), [len(data)])
                self.assertEqual([q[1] for q in h.requests()],
                                 [t for _, t in reqs])
                self.assert_never_seen(h)

    def test_more_gets_than_call_heads_then_refused(self):
        # the same with no HEAD past the 64th (none, or the 64th): the
        # guard follows the responses past it and wakes the host after the
        # last, not before, to a slow host that takes a read side's end
        # for the client gone and would cut the rest
        gets = [("GET", "/g%d" % i) for i in range(70)]
        h = self.host("epoll-et-slow", {"HOST_SLOW_PAUSE": "0.001"})
        for reqs in (gets, gets[:63] + [("HEAD", "/h63")] + gets[64:]):
            with self.subTest(head=reqs[63][0] == "HEAD"):
                data = b"".join(build_request(m, t) for m, t in reqs)
                c = self.client(h.port)
                mark = h.log.mark()
                self.assert_answered_then_refused(h, reqs, c, data, mark)
                self.assertEqual(self.reads(h, mark), [len(data)])

    def test_bytes_after_close_in_one_read(self):
        # a request that asks to close, and more bytes in the same read:
        # the host gets the request, then end of stream, never the rest
        # (its wake-up is the client's close)
        for mode in self.MODES:
            with self.subTest(mode=mode):
                h = self.host(mode)
                c = self.client(h.port)
                mark = h.log.mark()
                c.send(build_request("GET", "/last", [("Connection", "close")])
                       + build_request("GET", "/after"))
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"hello\n"))
                c.shutdown_write()
                h.wait_line(r"^host: eof$", since=mark)
                self.assert_never_seen(h, "/after")

    def test_one_byte_reads(self):
        # a host that polls, then reads one byte: approved bytes held by
        # the guard with nothing queued would never be reported readable;
        # the bytes that complete a head stay queued while it reads the
        # start of the head from the guard
        h = self.host("poll-1")
        self.served(h)
        c = self.client(h.port)
        c.send(build_request("GET", "/q1") + build_request("GET", "/q2"))
        rs = [c.read_response() for _ in range(2)]
        self.assertEqual([(r.status, r.body) for r in rs],
                         [(200, b"hello\n")] * 2)
        c = self.client(h.port)
        data = build_request("GET", "/pieces")
        for part in (data[:5], data[5:30], data[30:]):
            c.send(part)
            time.sleep(0.05)    # input pacing, not synchronisation
        self.assertEqual(c.read_response().status, 200)
        self.refused(h)
        self.assert_never_seen(h)

    def test_stash_then_eof_400(self):
        # an incomplete head the guard took from the kernel (the host's
        # read found nothing it may have: "eagain"), then the client's
        # EOF: 400, and the host never reads a byte of it
        for mode in self.MODES:
            with self.subTest(mode=mode):
                h = self.host(mode)
                c = self.client(h.port)
                mark = h.log.mark()
                c.send(b"GET /cut HTTP/1.1\r\nHost: t")
                h.wait_line(r"^host: eagain$", since=mark)
                c.shutdown_write()
                r = c.read_response()
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.header("Server"), "lengthguard", r)
                h.wait_line(r"^host: eof$", since=mark)
                self.assertEqual(self.reads(h, mark), [])
                self.assert_never_seen(h, "/cut")

    def test_refusal_eof_seen_by_poll(self):
        # after the refusal the host reads 0; its poll of the descriptor
        # must say readable at once (the read side is shut down), not wait
        # for the client, which keeps the connection open
        h = self.host("poll")
        c = self.client(h.port)
        c.send(CHUNKED)
        self.assertEqual(c.read_response().status, 411)
        m = h.wait_line(r"^host: after eof readable=(\d)$", timeout=10)
        self.assertEqual(m.group(1), "1")


class TestBlocking(HostCase):
    def test_rcvtimeo_gives_eagain(self):
        # a blocking read with SO_RCVTIMEO on a partial head: EAGAIN after
        # the timeout, as without the library (not EINTR, which Python
        # retries for ever)
        h = self.host("rcvtimeo")
        c = self.client(h.port)
        c.send(b"GET /slow HTTP/1.1\r\nHost: t")
        h.wait_line(r"^host: rcvtimeo$", timeout=5)
        self.assertNotIn("host: eintr", h.log.lines())
        self.refused(h)
        self.served(h)

    def test_peek_and_scatter_reads(self):
        # a host's MSG_PEEK shows approved bytes only and takes none (the
        # read that follows gets the same); recvmsg into small buffers
        # (smaller than a head: the stash is delivered across them)
        first = build_request("GET", "/p1")
        second = build_request("GET", "/p2")
        for mode in ("peek", "scatter"):
            with self.subTest(mode=mode):
                h = self.host(mode)
                self.refused(h)
                self.served(h)
                c = self.client(h.port)
                c.send(first + second[:20])
                self.assertEqual(c.read_response().status, 200)
                h.wait_line(r"^host: GET /p1 ")
                time.sleep(0.1)     # input pacing: the rest comes later
                c.send(second[20:])
                self.assertEqual(c.read_response().status, 200)
                h.wait_line(r"^host: GET /p2 ")
                self.assert_never_seen(h)
                self.assertNotIn("host: peek mismatch", h.log.lines())

    def test_unapproved_bytes_leave_the_hosts_buffer(self):
        # a read lands in the host's buffer when the guard holds nothing:
        # what it does not approve (the start of the next head, kept by
        # the guard; a refused request) must not stay there past the
        # count returned
        first = build_request("GET", "/a")
        post = build_request("POST", "/b", body=b"x" * 100)
        cases = (("partial", first + post[:20], post[20:]),
                 ("refused", first + CHUNKED, None),
                 ("body, refused", post + CHUNKED, None))
        h = self.host("residue")
        for name, send, rest in cases:
            with self.subTest(case=name):
                c = self.client(h.port)
                c.send(send)
                self.assertEqual(c.read_response().status, 200)
                if rest is not None:
                    time.sleep(0.1)     # input pacing: the rest comes later
                    c.send(rest)
                    self.assertEqual(c.read_response().status, 200)
                else:
                    self.assertEqual(c.read_response().status, 411)
                    self.assertTrue(c.at_eof())
                self.assertNotIn("host: residue", h.log.lines())
        self.assert_never_seen(h)

    def test_empty_iovecs_before_the_buffer(self):
        # readv and recvmsg with more iovecs than the guard fills in one
        # call, the first ones empty: the buffer after them is the host's
        # too, and what lands there must be judged
        for mode in ("empty-iov", "empty-iov-msg"):
            with self.subTest(mode=mode):
                h = self.host(mode)
                self.refused(h)
                self.served(h)
                self.assert_never_seen(h)

    def test_recvmmsg_is_guarded(self):
        h = self.host("mmsg")
        self.refused(h)
        self.served(h)
        self.assert_never_seen(h)

    def test_reads_from_the_stash_give_no_name(self):
        # one-byte recvfrom and recvmsg while a head that came in two
        # parts is delivered from the guard's stash, with no read of the
        # kernel's: no address, no control message, no flag, as the
        # kernel's reads of a TCP socket
        h = self.host("names")
        head = build_request("GET", "/n")
        c = self.client(h.port)
        c.send(head[:20])
        time.sleep(0.1)     # input pacing: the rest comes later
        c.send(head[20:])
        self.assertEqual(c.read_response().status, 200)
        h.wait_line(r"^host: GET /n ")
        self.assertNotIn("host: name", h.log.lines())
        self.refused(h)
        self.assert_never_seen(h)

    def test_closed_without_close_leaves_no_guard(self):
        # a connection closed by close_range, fclose or freopen: the pipe
        # or file that gets its number next is the host's, not judged as a
        # client's bytes
        for mode in ("closerange", "fclose", "freopen"):
            with self.subTest(mode=mode):
                h = self.host(mode)
                r = self.client(h.port).request("GET", "/c")
                self.assertEqual(r.status, 200)
                m = h.wait_line(r"^host: pipe (.+)$")
                self.assertEqual(m.group(1), "ok")

    def test_body_dropped_with_msg_trunc(self):
        # recv(NULL, n, MSG_TRUNC) drops n bytes of a TCP socket, writing
        # no buffer: the body, then a refused request the guard must still
        # judge (and a GET it serves)
        h = self.host("trunc")
        for after, status in ((CHUNKED, 411), (build_request("GET", "/t2"),
                                                200)):
            with self.subTest(after=status):
                head = build_request("POST", "/t", [("Content-Length",
                                                     "3000")], body=None)
                c = self.client(h.port)
                c.send(head)
                time.sleep(0.1)     # input pacing: the body comes later
                c.send(b"x" * 3000 + after)
                self.assertEqual(c.read_response().status, 200)
                self.assertEqual(c.read_response().status, status)
                self.assertEqual([l for l in h.log.lines()
                                  if l.startswith("host: trunc")], [])
        self.assert_never_seen(h)

    def test_spawn_leaves_the_guards(self):
        # a vfork child shares the host's memory: its dup2 onto fd 0 and
        # its close_range of every descriptor above 2 are its own, and the
        # host's connection stays guarded
        h = self.host("spawn")
        self.refused(h)
        self.served(h)
        self.assert_never_seen(h)
        self.assertEqual([l for l in h.log.lines()
                          if l.startswith("host: stdin")], [])

    def test_prefork_child_serves(self):
        h = self.host("prefork")
        self.refused(h)
        self.served(h)
        self.assert_never_seen(h)

    def test_fork_while_a_read_holds_the_guard(self):
        # a thread blocks in a read of a connection (partial head) when
        # the process forks: the child must be able to read it
        h = self.host("forklock")
        c = self.client(h.port)
        c.send(b"GET /slow HTTP/1.1\r\nHost: t")
        child = int(h.wait_line(r"^host: child (\d+)$").group(1))
        # a child stuck on a lock would hold the log's pipe open
        self.addCleanup(kill_quietly, child)
        m = h.wait_line(r"^host: child read (\S+)$", timeout=10)
        self.assertEqual(m.group(1), "EAGAIN")

    def test_dontwait_while_another_thread_reads(self):
        # a thread blocks in a read of a connection (partial head): a
        # MSG_DONTWAIT read of it from another thread returns EAGAIN at
        # once, as without the library, rather than wait for the first
        h = self.host("dontwait")
        c = self.client(h.port)
        c.send(b"GET /slow HTTP/1.1\r\nHost: t")
        m = h.wait_line(r"^host: dontwait (\S+)$", timeout=3)
        self.assertEqual(m.group(1), "EAGAIN")

    def test_blocking_read_waiting_for_another_thread_ends(self):
        # a thread blocks in a read of a connection (partial head): a
        # blocking read of it from another thread, which waits for the
        # first, still ends as it would in the kernel: at SO_RCVTIMEO
        # (EAGAIN), and at a signal whose handler does not return
        h = self.host("lockwait")
        c = self.client(h.port)
        c.send(b"GET /slow HTTP/1.1\r\nHost: t")
        m = h.wait_line(r"^host: lockwait rcvtimeo (\S+) (\S+)$", timeout=3)
        self.assertEqual(m.group(1), "EAGAIN")
        self.assertLess(float(m.group(2)), 2)
        m = h.wait_line(r"^host: lockwait signal (\S+)$", timeout=3)
        self.assertLess(float(m.group(1)), 2)

    def test_close_while_another_thread_reads(self):
        # a thread blocks in a read of a connection (partial head) while
        # another closes it and accepts the next client on the same
        # number: the first read's refusal, when the rest of its head
        # comes, must not reach the new client (a reply, a shutdown, a
        # drain of its bytes), which is served
        h = self.host("closeread")
        c1 = socket.create_connection(("127.0.0.1", h.port), timeout=5)
        self.addCleanup(c1.close)
        c1.sendall(b"POST / HTTP/1.1\r\nHost: t")
        h.wait_line(r"^host: closeread closed$", timeout=6)
        c2 = self.client(h.port)
        m = h.wait_line(r"^host: closeread fd1=(\d+) fd2=(\d+)$", timeout=3)
        self.assertEqual(m.group(1), m.group(2))    # the number came again
        c1.sendall(b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        h.wait_line(r"^host: closeread old read ", timeout=3)
        r = c2.request("GET", "/ok")
        self.assertEqual(r.status, 200, r)

    def test_dup2_onto_fd0(self):
        h = self.host("dup2")
        self.refused(h)
        self.served(h)
        self.assert_never_seen(h)


class TestInetd(HostCase):
    def test_inetd_fd0_guarded(self):
        h = self.host("inetd", {"LENGTHGUARD_CONF":
                                self.conf({"inetd": "on"})})
        self.refused(h)
        self.served(h)
        self.assert_never_seen(h)

    def test_cgi_body_on_fd0_not_judged_again(self):
        # the inetd child reads the head and execs a CGI that reads the
        # body from the same socket: the new image must not take the body
        # for a head (this one is a chunked request's)
        h = self.host("inetd", {"LENGTHGUARD_CONF":
                                self.conf({"inetd": "on"})})
        body = CHUNKED
        c = self.client(h.port)
        r = c.request("POST", "/exec", body=body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body,
                         (hashlib.sha256(body).hexdigest() + "\n").encode())

    def test_inetd_off_by_default(self):
        h = self.host("inetd", {"LENGTHGUARD_CONF": self.conf()})
        c = self.client(h.port)
        c.send(CHUNKED)
        self.assertEqual(c.read_response().status, 200)
        h.wait_line(r"^host: POST /chunked te=chunked ")


class TestPreloadConf(HostCase):
    def test_ports(self):
        port = free_port()
        h = self.host("poll", {"HOST_PORT": str(port), "LENGTHGUARD_CONF":
                               self.conf({"ports": "%d" % (port + 1)})})
        c = self.client(h.port)
        c.send(CHUNKED)
        self.assertEqual(c.read_response().status, 200)    # not guarded
        h.stop()
        h = self.host("poll", {"HOST_PORT": str(port), "LENGTHGUARD_CONF":
                               self.conf({"ports": "1 %d" % port})})
        self.refused(h)

    # the line of logged_refusal()'s 411 (its body's length to fill in)
    REFUSAL_LINE = (r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d '
                    r'[+-]\d{4}\] "POST /chunked\?x=\\x221\\x22 HTTP/1\.1" '
                    r'411 %d "-" "test agent" rt=\d+\.\d{3} urt=- '
                    r'verdict="chunked request body" class=compliant$')

    def logged_refusal(self, h):
        """A refused chunked POST, then a served request (not logged: only
        refusals are). Returns the 411 response."""
        c = self.client(h.port)
        c.send(build_request("POST", "/chunked?x=\"1\"",
                             [("Transfer-Encoding", "chunked"),
                              ("User-Agent", "test agent")]) +
               b"5\r\nhello\r\n0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 411)
        self.served(h)
        return r

    def refusal_line(self, log=None):
        """logged_refusal(): the one line the [preload] log file then
        holds, and the 411 response."""
        path = os.path.join(self.tmpdir, "refused.log")
        h = self.host("poll", {"LENGTHGUARD_CONF":
                               self.conf({"log": path}, log=log)})
        r = self.logged_refusal(h)
        deadline = time.monotonic() + 5
        lines = []
        while not lines and time.monotonic() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    lines = f.read().splitlines()
            if not lines:
                time.sleep(0.02)    # polling a file, bounded
        self.assertEqual(len(lines), 1, lines)
        self.assertFalse([l for l in h.log.lines() if "chunked" in l and
                          "411" in l], "a log line on the host's stdout")
        return lines[0], r

    def test_refusal_logged(self):
        line, r = self.refusal_line()
        self.assertRegex(line, self.REFUSAL_LINE % len(r.body))

    # run by sh in the host's mount namespace ($1: an empty directory, $2:
    # the test's socket, $3: LD_PRELOAD, then the host's argv): a tmpfs
    # with the real /dev's null, zero, random and urandom bound into it and
    # log a symlink to the socket, moved over /dev; then the host
    DEV_SCRIPT = """set -e
dev=$1 sock=$2 preload=$3
shift 3
mount -t tmpfs -o mode=755,size=64k lengthguard-test-dev "$dev"
for n in null zero random urandom; do
    : > "$dev/$n"
    mount --bind "/dev/$n" "$dev/$n"
done
ln -s "$sock" "$dev/log"
mount --move "$dev" /dev
exec env "LD_PRELOAD=$preload" "$@"
"""

    @staticmethod
    def dev_state():
        """This namespace's mounts on /dev and below, and what /dev/log
        is: what a namespace that leaked would change."""
        with open("/proc/self/mountinfo") as f:
            mounts = sorted(l for l in f if l.split()[4] == "/dev" or
                            l.split()[4].startswith("/dev/"))
        try:
            st = os.lstat("/dev/log")
            log = (st.st_dev, st.st_ino, st.st_mode)
        except FileNotFoundError:
            log = None
        return mounts, log

    def unshare_or_skip(self, dev):
        """unshare(1)'s path, once it has mounted a tmpfs on dev in a mount
        namespace of its own (gone with it); else the test is skipped."""
        unshare = shutil.which("unshare")
        if unshare is None:
            self.skipTest("no unshare(1): the host cannot get a /dev/log "
                          "of its own")
        p = subprocess.run([unshare, "-m", "--propagation", "private", "--",
                            "mount", "-t", "tmpfs", "lengthguard-test", dev],
                           capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            self.skipTest("no private mount namespace (unshare -m, then "
                          "mount, as root): %s" % p.stderr.strip())
        return unshare

    def test_refusal_to_syslog(self):
        """[preload] log = syslog: each refusal is one datagram on /dev/log,
        as syslog(3) sends it (RFC 3164: <facility * 8 + severity>, the
        time, the ident and pid), daemon.notice, holding the file's line
        without its newline. The host runs in a mount namespace of its own
        whose /dev is a tmpfs, /dev/log a symlink to the test's socket: the
        real /dev is never touched."""
        dev = os.path.join(self.tmpdir, "dev")
        os.mkdir(dev)
        unshare = self.unshare_or_skip(dev)
        sock = os.path.join(self.tmpdir, "log.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind(sock)
        s.settimeout(5)
        before = self.dev_state()
        h = self.host("poll", {"LENGTHGUARD_CONF":
                               self.conf({"log": "syslog"})}, guarded=False,
                      wrap=[unshare, "-m", "--propagation", "private", "--",
                            "sh", "-c", self.DEV_SCRIPT, "sh", dev, sock,
                            PRELOAD])
        self.assertNotEqual(os.readlink("/proc/%d/ns/mnt" % h.pid),
                            os.readlink("/proc/self/ns/mnt"))
        r = self.logged_refusal(h)
        c = self.client(h.port)
        mark = h.log.mark()
        c.send(build_request("POST", "/nolength", body=None))
        self.assertEqual(c.read_response().status, 411)
        # the host's read that got the end returned after the guard logged
        h.wait_line(r"^host: eof$", since=mark)
        got = [s.recv(65536), s.recv(65536)]
        s.setblocking(False)
        with self.assertRaises(BlockingIOError, msg="a third datagram"):
            s.recv(65536)
        rx = re.compile(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d "
                        r"lengthguard-preload\[(\d+)\]: (.*)$", re.S)
        lines = []
        for raw in got:
            m = rx.match(raw.decode())
            self.assertIsNotNone(m, raw)
            self.assertEqual(int(m.group(1)), syslog.LOG_DAEMON |
                             syslog.LOG_NOTICE, raw)
            self.assertEqual(int(m.group(2)), h.pid, raw)
            self.assertNotIn("\n", m.group(3), raw)
            lines.append(m.group(3))
        self.assertRegex(lines[0], self.REFUSAL_LINE % len(r.body))
        self.assertIn('"POST /nolength HTTP/1.1" 411 ', lines[1])
        self.assertEqual(self.dev_state(), before,
                         "the host's /dev is seen outside its namespace")
        h.stop()
        self.assertEqual(self.dev_state(), before)
        self.assertEqual(os.listdir(dev), [])

    def test_refusal_logged_json(self):
        """[log] format = json applies to the library's lines too."""
        line, r = self.refusal_line({"format": "json"})
        o = json.loads(line)
        self.assertEqual((o["client"], o["request"], o["status"], o["bytes"],
                          o["user_agent"], o["verdict"], o["reason"],
                          o["class"], o["urt"], o["would_refuse"]),
                         ("127.0.0.1", 'POST /chunked?x="1" HTTP/1.1', 411,
                          len(r.body), "test agent", "chunked request body",
                          "chunked_body", "compliant", None, False))


RUN = os.path.join(harness.BUILD, "lengthguard-run")


class TestRun(HostCase):
    """lengthguard-run: checks the conf, preloads the build tree's
    library, execs the program."""

    def run_(self, args, env=None):
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        e.pop("LENGTHGUARD_CONF", None)
        e.update(env or {})
        return subprocess.run([RUN] + args, env=e, capture_output=True,
                              text=True, timeout=20)

    def test_usage(self):
        self.assertEqual(self.run_([]).returncode, 2)
        self.assertEqual(self.run_(["-c", self.conf()]).returncode, 2)
        p = self.run_(["true"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("-c FILE is required", p.stderr)
        self.assertEqual(self.run_(["-x", "-c", self.conf(), "true"]).returncode, 2)
        p = self.run_(["-h"])
        self.assertEqual((p.returncode, p.stdout.startswith("usage:")), (0, True))

    def test_bad_conf_exit_1(self):
        conf = os.path.join(self.tmpdir, "bad.conf")
        with open(conf, "w") as f:
            f.write("[preload]\nports = 80 http\n")
        p = self.run_(["-c", conf, "--", sys.executable, "-c",
                       "print('main ran')"])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn("bad.conf:2: [preload] ports: invalid port \"http\"",
                      p.stderr)
        self.assertIn("lengthguard-run: configuration failed", p.stderr)
        p = self.run_(["-c", os.path.join(self.tmpdir, "none.conf"), "true"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot open", p.stderr)

    def test_program_not_found_127(self):
        p = self.run_(["-c", self.conf(), "--", "/nonexistent/prog"])
        self.assertEqual(p.returncode, 127)
        self.assertIn("/nonexistent/prog", p.stderr)
        p = self.run_(["-c", self.conf(), "--", self.tmpdir])
        self.assertEqual(p.returncode, 126)

    def test_environment(self):
        conf = self.conf()
        p = self.run_(["-c", os.path.relpath(conf), "--", "sh", "-c",
                       'echo "$LD_PRELOAD|$LENGTHGUARD_CONF"; exit 3'],
                      {"LD_PRELOAD": "libc.so.6"})    # loaded anyway
        self.assertEqual(p.returncode, 3)      # the program's own status
        lib = os.path.join(harness.BUILD, "liblengthguard-preload.so")
        self.assertEqual(p.stdout.strip(), "%s libc.so.6|%s" % (
            lib, os.path.realpath(conf)))

    def test_guards_http_server(self):
        port = free_port()
        e = dict(os.environ)
        e.pop("LD_PRELOAD", None)
        h = harness.Process("run-http.server", [
            RUN, "-c", self.conf(), "--", sys.executable, "-u", "-m",
            "http.server", "--bind", "127.0.0.1", str(port)], env=e)
        self.procs.append(h)
        h.wait_line(r"^Serving HTTP on ")
        h.port = port
        self.refused(h)
        r = self.client(port).request("GET", "/")
        self.assertEqual(r.status, 200)
        self.assertNotEqual(r.header("Server"), "lengthguard")


class TestLoading(harness.E2ECase):
    def test_exports_only_the_interposed_calls(self):
        out = subprocess.run(["nm", "-D", "-P", "--defined-only", LIB],
                             check=True, capture_output=True, text=True).stdout
        syms = {l.split()[0].split("@")[0] for l in out.splitlines() if l}
        self.assertEqual(syms - RUNTIME, INTERPOSED)

    def test_null_iovecs_are_the_kernels_efault(self):
        # readv with a NULL array, recvmsg with a NULL msg_iov: EFAULT, of a
        # pipe and of a guarded connection, not a crash of the host
        script = "\n".join([
            "import ctypes, os, socket",
            "libc = ctypes.CDLL(None, use_errno=True)",
            "class Msghdr(ctypes.Structure):",
            "    _fields_ = [('name', ctypes.c_void_p),"
            " ('namelen', ctypes.c_uint), ('iov', ctypes.c_void_p),"
            " ('iovlen', ctypes.c_size_t), ('control', ctypes.c_void_p),"
            " ('controllen', ctypes.c_size_t), ('flags', ctypes.c_int)]",
            "lsn = socket.socket()",
            "lsn.bind(('127.0.0.1', 0))",
            "lsn.listen()",
            "cl = socket.create_connection(lsn.getsockname())",
            "c, _ = lsn.accept()",
            "cl.sendall(b'GET / HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n')",
            "r, w = os.pipe()",
            "os.write(w, b'x')",
            "for fd in (r, c.fileno()):",
            "    n = libc.readv(fd, None, 1)",
            "    print('readv', n, ctypes.get_errno())",
            "    m = Msghdr(iovlen=1)",
            "    n = libc.recvmsg(fd, ctypes.byref(m), 0)",
            "    print('recvmsg', n, ctypes.get_errno())",
        ])
        e = dict(os.environ, LD_PRELOAD=PRELOAD)
        e.pop("LENGTHGUARD_CONF", None)
        p = subprocess.run([sys.executable, "-c", script], env=e,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        ef = errno.EFAULT
        # recvmsg of a pipe: ENOTSOCK, as without the library
        self.assertEqual(p.stdout.split("\n"), [
            "readv -1 %d" % ef, "recvmsg -1 %d" % errno.ENOTSOCK,
            "readv -1 %d" % ef, "recvmsg -1 %d" % ef, ""])

    def test_conf_is_used(self):
        # no [proxy] section: the library needs none
        conf = preload_conf(os.path.join(self.tmpdir, "small.conf"),
                            limits={"max_body_size": "1k"})
        app = App(env={"LENGTHGUARD_CONF": conf})
        self.procs.append(app)
        app.ready()
        c = self.client(app.port)
        r = c.request("POST", "/large", body=b"x" * 2048)
        self.assertEqual(r.status, 413)
        c = self.client(app.port)
        r = c.request("POST", "/small", body=b"x" * 1000)
        self.assertEqual(r.status, 200)

    def test_monitor_mode_is_the_proxys(self):
        """mode = monitor in the conf: in-process, the guard enforces all
        the same (a chunked POST and a POST without a length get 411 and
        never reach the application)."""
        conf = os.path.join(self.tmpdir, "monitor.conf")
        harness.write_conf(conf, {
            "proxy": {"listen": "127.0.0.1:1", "upstream": "127.0.0.1:1"},
            "policy": {"mode": "monitor"},
            "pages": {"dir": harness.PAGES_DIR}})
        app = App(env={"LENGTHGUARD_CONF": conf})
        self.procs.append(app)
        app.ready()
        for raw, target in ((CHUNKED, "/chunked"),
                            (build_request("POST", "/nolength", body=None),
                             "/nolength")):
            c = self.client(app.port)
            c.send(raw)
            self.assertEqual(c.read_response().status, 411, target)
        c = self.client(app.port)
        self.assertEqual(c.request("GET", "/after").status, 200)
        # its log is in order: once /after is in, all before it is
        app.wait_line(r"^app: GET /after ")
        self.assertEqual([q[1] for q in app.requests()], ["/after"])

    def test_broken_conf_exits_at_start(self):
        conf = os.path.join(self.tmpdir, "broken.conf")
        with open(conf, "w") as f:
            f.write("[limits]\nmax_body_size = lots\n")
        e = dict(os.environ, LD_PRELOAD=PRELOAD, LENGTHGUARD_CONF=conf)
        p = subprocess.run([sys.executable, "-c", "print('main ran')"],
                           env=e, capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn("lengthguard-preload: configuration failed", p.stderr)
        self.assertIn("broken.conf:2:", p.stderr)


if __name__ == "__main__":
    unittest.main()
