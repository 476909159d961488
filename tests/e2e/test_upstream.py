"""End-to-end tests of what lengthguard does with what an upstream sends:
bytes that belong to no request must never reach a client as the response
to another request, interim responses are bounded, and forwarded responses
carry a Date. The upstreams here are ScriptedOrigin (harness.py): small
loopback servers that misbehave on purpose, as sloppy legacy backends do.

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/e2e -p test_upstream.py -v
"""

import hashlib
import os
import signal
import sys
import threading
import time

from harness import (HELLO, IO_TIMEOUT, E2ECase, Process, ProxyCase,
                     ScriptedOrigin, build_request,
                     http_response, short)

REAL = b"the real response\n"
# bytes shaped like a response: what a sloppy upstream sends after a head
# that has no body (or after its response), and what a later client must
# never receive
STRAY = http_response(b"SMUGGLED", fields=[("X-Pad", "xxxx")])


class UpstreamCase(E2ECase):
    """A ScriptedOrigin running `script`, a proxy in front of it."""

    overrides = None

    def script(self, conn, nth, method, target, body):
        raise NotImplementedError

    on_head = None

    def setUp(self):
        super().setUp()
        self.origin = ScriptedOrigin(self.script, self.on_head)
        self.addCleanup(self.origin.stop)
        self.proxy = self.start_proxy(self.origin.port, self.overrides)

    def assert_real(self, r, what):
        self.assertEqual(r.status, 200, "%s: %r" % (what, r))
        self.assertEqual(r.body, REAL, "%s: a response that belongs to no "
                         "request reached the client: %r" % (what, r))


class TestStrayAfterHead(UpstreamCase):
    """A HEAD answered with a Content-Length, then, 50 ms later, stray bytes
    shaped like a response: the next request must not read them as its
    answer. The head announced a length where no body may follow: the
    connection is not reused (docs/framing.md, response reuse)."""

    def script(self, conn, nth, method, target, body):
        if method == "HEAD":
            return [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
                    % len(STRAY), 0.05, STRAY]
        return [http_response(REAL)]

    def test_same_client_connection(self):
        c = self.client(self.proxy.port)
        c.send(build_request("HEAD", "/stray"))
        r = c.read_response("HEAD")
        self.assertEqual(r.status, 200, r)
        c.send(build_request("GET", "/next"))
        self.assert_real(c.read_response(), "GET after the HEAD")
        self.assertEqual(self.origin.connections, 2,
                         "the GET reused the HEAD's upstream connection")

    def test_another_client(self):
        c = self.client(self.proxy.port)
        c.send(build_request("HEAD", "/stray"))
        self.assertEqual(c.read_response("HEAD").status, 200)
        d = self.client(self.proxy.port)
        d.send(build_request("GET", "/next"))
        self.assert_real(d.read_response(), "another client's GET")


class TestStrayAfter204(UpstreamCase):
    """A 204 with a Content-Length and that many bytes after it, or with
    Transfer-Encoding and a last chunk. The client gets neither field
    (RFC 9110 §8.6, RFC 9112 §6.1: a 204 MUST NOT carry them): a client
    that frames by them would read the next response as this one's body."""

    def script(self, conn, nth, method, target, body):
        if target == "/no-content":
            return [b"HTTP/1.1 204 No Content\r\nContent-Length: %d\r\n\r\n"
                    % len(STRAY) + STRAY]
        if target == "/no-content-te":
            return [b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: "
                    b"chunked\r\n\r\n0\r\n\r\n"]
        return [http_response(REAL)]

    def test_no_length_fields_reach_the_client(self):
        c = self.client(self.proxy.port)
        for target in ("/no-content", "/no-content-te"):
            c.send(build_request("GET", target) +
                   build_request("GET", "/next"))
            r = c.read_response()
            self.assertEqual(r.status, 204, r)
            self.assertEqual((r.header_all("content-length"),
                              r.header_all("transfer-encoding")), ([], []),
                             "%s: %r" % (target, r.raw_head))
            self.assert_real(c.read_response(), "GET after %s" % target)

    def test_next_request_gets_its_own_response(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/no-content"))
        self.assertEqual(c.read_response().status, 204)
        c.send(build_request("GET", "/next"))
        self.assert_real(c.read_response(), "GET after the 204")


class TestUnsolicitedResponse(UpstreamCase):
    """A response, then a second one nobody asked for, in the same write or
    in a write of its own that has reached lengthguard before the next
    request: the connection is not reused, whether the extra bytes came
    with the response or after it, were read or were still in the socket
    (src/proxy/pool.h says how each is seen). Bytes that come only after the next
    request was written cannot be told from its response: HTTP/1.1 has no
    request ids, which is why a response that gives reason for doubt ends
    its connection (TestStrayAfterHead)."""

    def setUp(self):
        self.stray_sent = threading.Event()
        super().setUp()

    def script(self, conn, nth, method, target, body):
        if target == "/together":
            return [http_response(b"first\n") + STRAY, self.stray_sent.set]
        if target == "/apart":
            return [http_response(b"first\n"), STRAY, self.stray_sent.set]
        return [http_response(REAL)]

    def check(self, target):
        c = self.client(self.proxy.port)
        for i in range(20):
            self.stray_sent.clear()
            c.send(build_request("GET", target))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, b"first\n"), r)
            # on loopback, a send has reached the peer's socket when it
            # returns: the stray bytes are at lengthguard's door now
            self.assertTrue(self.stray_sent.wait(IO_TIMEOUT))
            c.send(build_request("GET", "/next-%d" % i))
            self.assert_real(c.read_response(), "GET %d after %s" % (i, target))

    def test_in_the_same_write(self):
        self.check("/together")

    def test_in_a_write_of_its_own(self):
        self.check("/apart")


class TestInterimResponses(UpstreamCase):
    """1xx responses before the final one are bounded in number (8) and in
    time: the final head must come within upstream_response of the request
    being sent, however many 1xx come before it. A connection that carried
    a 1xx is not reused."""

    overrides = {"timeouts": {"upstream_response": "1s"}}

    def script(self, conn, nth, method, target, body):
        cont = b"HTTP/1.1 100 Continue\r\n\r\n"
        if target == "/nine":
            return [cont * 9 + http_response(REAL)]
        if target == "/trickle":
            steps = []
            for _ in range(8):
                steps += [cont, 0.3]
            return steps + [http_response(REAL)]
        if target == "/one":
            return [cont, http_response(REAL)]
        return [http_response(REAL)]

    def test_nine_interim_heads_are_502(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/nine"))
        r = c.read_response()
        self.assertEqual(r.status, 502, r)
        self.assertEqual(len(r.interim), 8, r)

    def test_trickled_interim_heads_do_not_extend_the_deadline(self):
        c = self.client(self.proxy.port)
        t0 = time.monotonic()
        c.send(build_request("GET", "/trickle"))
        r = c.read_response(timeout=8)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 504, r)
        self.assertLess(took, 2.0, "the 504 came after %.2f s: each 1xx "
                        "restarted the response timer" % took)

    def test_connection_with_a_1xx_is_not_reused(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/one"))
        r = c.read_response()
        self.assertEqual((r.status, len(r.interim)), (200, 1), r)
        c.send(build_request("GET", "/next"))
        self.assert_real(c.read_response(), "GET after the 1xx")
        self.assertEqual(self.origin.connections, 2)


class TestDateAdded(UpstreamCase):
    """RFC 9110 §6.6.1: a response forwarded without Date gets one; one
    that has a Date keeps it, alone."""

    def script(self, conn, nth, method, target, body):
        if target == "/dated":
            return [http_response(REAL, fields=[
                ("Date", "Mon, 01 Jan 2024 00:00:00 GMT")])]
        return [http_response(REAL)]

    def test_date_added_when_missing(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/undated"))
        r = c.read_response()
        dates = r.header_all("Date")
        self.assertEqual(len(dates), 1, r)
        self.assertRegex(dates[0], r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} "
                         r"\d{4} \d\d:\d\d:\d\d GMT$", r)

    def test_date_kept(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/dated"))
        r = c.read_response()
        self.assertEqual(r.header_all("Date"),
                         ["Mon, 01 Jan 2024 00:00:00 GMT"], r)


class TestBodyTotalDeadline(UpstreamCase):
    """A client that sends its body a byte at a time, each within the pause
    timeout, still has [timeouts] client_body_total for the whole body: it
    must not hold the upstream connection for as long as it likes."""

    overrides = {"timeouts": {"client_body": "10s",
                              "client_body_total": "1s"}}

    def script(self, conn, nth, method, target, body):
        return [http_response(REAL)]

    def test_slow_body_gets_408(self):
        c = self.client(self.proxy.port)
        t0 = time.monotonic()
        c.send(b"POST /slow HTTP/1.1\r\nHost: test\r\n"
               b"Content-Length: 20\r\n\r\n")
        c.sock.settimeout(0.3)
        got = b""
        for _ in range(20):     # one byte every 0.3 s: 6 s for the body
            try:
                c.send(b"x")
            except OSError:
                break
            try:
                data = c.sock.recv(65536)
            except OSError:     # timeout: nothing yet; or a reset
                continue
            if not data:
                break
            got += data
            if b"\r\n\r\n" in got:
                break
        took = time.monotonic() - t0
        self.assertTrue(got.startswith(b"HTTP/1.1 408 "),
                        "no 408 within %.1f s: %s" % (took, short(got)))
        self.assertLess(took, 2.5, "408 after %.2f s" % took)
        self.proxy.wait_line(r'"POST /slow HTTP/1\.1" 408 ')
        self.assertEqual(self.origin.seen, [], "the origin answered a "
                         "request whose body never came whole")


class TestCloseDelimitedThenPipelined(ProxyCase):
    """A response whose body ends when the upstream closes (no length)
    ends the client connection too: a pipelined request behind it must not
    be answered on it, or its response would read as more of that body."""

    def test_close_delimited_ends_the_connection(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/a?noclose-delimited=1") +
               build_request("GET", "/b"))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assertEqual(r.framing, "close", r)
        self.assertEqual(r.body, HELLO, "more than /a's body before the "
                         "close: %s" % short(r.body))


class TestUploadAfterEarlyInterim(UpstreamCase):
    """An upstream that sends 100 Continue as soon as it has the head, then
    reads a large body slowly: once the upstream's side is full, reading
    the client stops, and must resume as the upstream drains, response
    bytes or not."""

    overrides = {"timeouts": {"client_body": "5s"}}
    SIZE = 32 * 1024 * 1024

    def on_head(self, conn, nth, method, target):
        return [b"HTTP/1.1 100 Continue\r\n\r\n", 0.5]

    def script(self, conn, nth, method, target, body):
        return [http_response(b"%d %s\n" % (len(body), hashlib.sha256(
            body).hexdigest().encode()))]

    def test_large_body_after_100(self):
        body = os.urandom(self.SIZE)
        c = self.client(self.proxy.port, timeout=30)
        c.send(build_request("POST", "/upload", body=body))
        r = c.read_response("POST", timeout=30)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"%d %s\n" % (self.SIZE, hashlib.sha256(
            body).hexdigest().encode()), r)


class TestInterimAndHttp10(UpstreamCase):
    """No 1xx goes to an HTTP/1.0 client (RFC 9110 §15.2), and lengthguard
    sends its own 100 Continue only to an HTTP/1.1 request with a body."""

    def script(self, conn, nth, method, target, body):
        if target == "/with-100":
            return [b"HTTP/1.1 100 Continue\r\n\r\n", http_response(REAL)]
        return [http_response(REAL)]

    def test_no_interim_to_http10(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/with-100", version="HTTP/1.0"))
        r = c.read_response()
        self.assertEqual((r.status, r.interim), (200, []), r)
        self.assertEqual(r.body, REAL, r)

    def test_expect_without_body_gets_no_100(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /e HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
               b"Content-Length: 0\r\n\r\n")
        r = c.read_response("POST")
        self.assertEqual((r.status, r.interim), (200, []), r)

    def test_expect_in_http10_gets_no_100(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /e HTTP/1.0\r\nExpect: 100-continue\r\n"
               b"Content-Length: 2\r\n\r\n")
        c.sock.settimeout(0.5)
        try:
            early = c.sock.recv(65536)
        except OSError:
            early = b""
        self.assertEqual(early, b"", "an answer before the body: %r" % early)
        c.sock.settimeout(IO_TIMEOUT)
        c.send(b"ok")
        r = c.read_response("POST")
        self.assertEqual((r.status, r.interim), (200, []), r)


class TestEarlyResponse(UpstreamCase):
    """An upstream that answers before the whole request body has come:
    the response is relayed with Connection: close, then both connections
    close (the upstream's holds part of a body it may still be reading).
    Bodies streamed: buffered, the whole body would come first."""

    overrides = {"proxy": {"request_buffering": "off"}}

    def on_head(self, conn, nth, method, target):
        return [http_response(b"early\n"), None]

    def script(self, conn, nth, method, target, body):
        return [http_response(REAL)]

    def test_response_before_the_body_ends_both(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /early HTTP/1.1\r\nHost: test\r\n"
               b"Content-Length: 100000\r\n\r\n" + b"x" * 10)
        r = c.read_response("POST")
        self.assertEqual((r.status, r.body), (200, b"early\n"), r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assertEqual(c.read_until_eof(IO_TIMEOUT), b"")


class TestAnswerBeforeTheBody(UpstreamCase):
    """An upstream that answers a request from its head (413 to a body it
    will not take) and closes without reading the body: lengthguard's
    write of the body then fails, and the answer the upstream sent before
    it went away is what the client gets, not a 502. The body was
    received whole (request buffering): the client's connection goes on."""

    def on_head(self, conn, nth, method, target):
        if method == "POST":
            return [http_response(b"too big\n", "413 Content Too Large",
                                  [("Connection", "close")]), None]
        return []

    def script(self, conn, nth, method, target, body):
        return [http_response(REAL)]

    def test_the_answer_reaches_the_client(self):
        size = 8 << 20      # more than the upstream's socket takes unread
        body = b"x" * size
        for i in range(5):
            c = self.client(self.proxy.port, timeout=30)
            c.send(build_request("POST", "/upload-%d" % i, body=body))
            r = c.read_response("POST")
            self.assertEqual((r.status, r.body), (413, b"too big\n"),
                             "upload %d: %r" % (i, r))
            c.send(build_request("GET", "/next-%d" % i))
            self.assert_real(c.read_response(), "GET after the 413")


def _tasks_stopped(pid):
    """Are all of pid's threads stopped (state T)?"""
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                return False
    return True


def _close_wait_to(port):
    """Is a loopback connection to `port` half-closed by it (its local side
    in CLOSE_WAIT: the FIN has reached the socket)?"""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[2].split(":")[1], 16) == port and fields[3] == "08":
                return True
    return False


def _connected_to(port):
    """Is a loopback socket connected to `port`, open or half-closed?"""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[2].split(":")[1], 16) == port and \
                    fields[3] in ("01", "08"):
                return True
    return False


def _poll(cond, what, timeout=IO_TIMEOUT):
    """Wait, bounded, for cond() (kernel state no log line can tell)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("no %s within %.1f s" % (what, timeout))
        time.sleep(0.005)


class FrozenCase(UpstreamCase):
    """The worker stopped (SIGSTOP) while events reach its sockets in a
    chosen order, then let go: one dispatch reports them all, in the order
    they arrived (epoll's ready list is first come, first served)."""

    def setUp(self):
        self.gate = threading.Event()
        super().setUp()

    def wait_gate(self):
        self.assertTrue(self.gate.wait(IO_TIMEOUT))

    def freeze(self):
        pid = self.proxy.pid
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(self.thaw)
        _poll(lambda: _tasks_stopped(pid), "stopped proxy")

    def thaw(self):
        if self.proxy.alive():
            os.kill(self.proxy.pid, signal.SIGCONT)


class TestIdleEndBehindARequest(FrozenCase):
    """An idle upstream connection ends (the upstream closes it right after
    a response that kept it open, as busybox httpd does) after a client's
    POST has come, in the same dispatch: the idle connection's event runs
    first, so the POST, which cannot be retried, goes on a new connection.
    The upstream has answered on a reused connection before, and the idle
    connection went idle in an earlier round: nothing peeks (pool.h)."""

    def script(self, conn, nth, method, target, body):
        if conn == 1 and nth == 2:
            return [http_response(REAL), self.wait_gate, None]
        return [http_response(REAL)]

    def test_post_gets_a_new_connection(self):
        c = self.client(self.proxy.port)
        for target in ("/1", "/2-reused"):
            c.send(build_request("GET", target))
            self.assert_real(c.read_response(), target)
        self.freeze()
        c.send(build_request("POST", "/3", body=b"not idempotent"))
        self.gate.set()
        _poll(lambda: _close_wait_to(self.origin.port), "upstream FIN")
        self.thaw()
        self.assert_real(c.read_response("POST"), "the POST")
        seen = self.origin.wait_seen(3)
        self.assertEqual([(s[0], s[3]) for s in seen],
                         [(1, "/1"), (1, "/2-reused"), (2, "/3")])
        self.proxy.wait_line(r"closed a connection right after a response"
                             r".*checked before reuse")


class TestUnsolicitedBehindARequest(FrozenCase):
    """Bytes nobody asked for reach an idle connection after a client's
    GET has come, in the same dispatch: the idle connection's event runs
    first and closes it; the GET gets its own response."""

    def setUp(self):
        self.stray_sent = threading.Event()
        super().setUp()

    def script(self, conn, nth, method, target, body):
        if conn == 1 and nth == 2:
            return [http_response(REAL), self.wait_gate, STRAY,
                    self.stray_sent.set]
        return [http_response(REAL)]

    def test_get_gets_its_own_response(self):
        c = self.client(self.proxy.port)
        for target in ("/1", "/2-reused"):
            c.send(build_request("GET", target))
            self.assert_real(c.read_response(), target)
        self.freeze()
        c.send(build_request("GET", "/3"))
        self.gate.set()
        # on loopback, the send has reached lengthguard's socket
        self.assertTrue(self.stray_sent.wait(IO_TIMEOUT))
        self.thaw()
        self.assert_real(c.read_response(), "the GET")
        self.assertEqual(self.origin.connections, 2)
        self.proxy.wait_line(r"sent bytes nobody asked for.*checked before "
                             r"reuse")


class TestResponseAndEndInOneRound(FrozenCase):
    """A response and the upstream's close right after it come in the same
    dispatch as another client's POST: the connection goes idle in that
    round, its end not reported yet, and the POST must not take it without
    a peek (pool.h: a connection idle since this round is always checked)."""

    def script(self, conn, nth, method, target, body):
        if conn == 1 and nth == 3:
            return [self.wait_gate, http_response(REAL), None]
        return [http_response(REAL)]

    def test_post_gets_a_new_connection(self):
        c = self.client(self.proxy.port)
        d = self.client(self.proxy.port)
        c.send(build_request("GET", "/1"))
        self.assert_real(c.read_response(), "/1")
        d.send(build_request("GET", "/2-reused"))
        self.assert_real(d.read_response(), "/2-reused")
        c.send(build_request("GET", "/3-then-close"))
        self.origin.wait_seen(3)
        self.freeze()
        self.gate.set()
        _poll(lambda: _close_wait_to(self.origin.port), "upstream FIN")
        d.send(build_request("POST", "/4", body=b"not idempotent"))
        self.thaw()
        self.assert_real(c.read_response(), "/3-then-close")
        self.assert_real(d.read_response("POST"), "the POST")
        seen = self.origin.wait_seen(4)
        self.assertEqual((seen[3][0], seen[3][3]), (2, "/4"))


# An origin in a process of its own, so that its close follows its
# response at once, as a C server's does (threads of this process would
# wait for the interpreter lock between the two): one connection at a
# time, one request each, answered in HTTP/1.1 without "Connection: close",
# then closed.
SILENT_CLOSER = r"""
import re, socket, sys
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(64)
print("port %d" % ls.getsockname()[1], flush=True)
body = sys.argv[1].encode()
resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
while True:
    s, _ = ls.accept()
    s.settimeout(10)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            data = s.recv(65536)
            if not data:
                break
            buf += data
        head, _, rest = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
        n = int(m.group(1)) if m else 0
        while len(rest) < n:
            data = s.recv(65536)
            if not data:
                break
            rest += data
        if head:
            s.sendall(resp)
    except OSError:
        pass
    s.close()
"""


class TestSilentCloser(E2ECase):
    """An upstream that answers in HTTP/1.1 without "Connection: close" and
    closes each connection right after its response (busybox httpd). Its
    close may still be on its way when the next request comes, which no
    peek can see; once lengthguard has seen one such close, a request that
    cannot be retried never takes its idle connections again: then every
    POST, from several clients at once, gets its response."""

    CLIENTS = 4
    EACH = 25

    def setUp(self):
        super().setUp()
        self.origin = Process("silent-closer", [sys.executable, "-c",
                                                SILENT_CLOSER, REAL.decode()])
        self.addCleanup(self.origin.stop)
        self.port = int(self.origin.wait_line(r"port (\d+)").group(1))
        self.proxy = self.start_proxy(self.port)

    def test_every_post_answered(self):
        with self.client(self.proxy.port) as c:
            c.send(build_request("POST", "/first", body=b"x"))
            self.assert_real(c.read_response("POST"), "the first POST")
        # lengthguard has heard the close of the idle connection
        _poll(lambda: not _connected_to(self.port), "idle connection closed")
        failures = []

        def run(k):
            try:
                with self.client(self.proxy.port) as c:
                    for i in range(self.EACH):
                        c.send(build_request("POST", "/%d-%d" % (k, i),
                                             body=b"x" * 100))
                        r = c.read_response("POST")
                        if (r.status, r.body) != (200, REAL):
                            failures.append((k, i, r.status))
            except (OSError, AssertionError) as e:
                failures.append((k, e))

        threads = [threading.Thread(target=run, args=(k,))
                   for k in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(IO_TIMEOUT * 2)
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(failures, [])
        self.proxy.wait_line(r"closed a connection right after a response")

    def assert_real(self, r, what):
        self.assertEqual((r.status, r.body), (200, REAL), "%s: %r" % (what, r))
