"""End-to-end regression tests for the connection and request lifecycle of
the proxy: what a reply carries after an earlier request, what the access
log says about requests that did not end normally, half-closed clients,
running out of descriptors, timers, retries on a reused upstream connection,
and reloads. Each class names the defect it covers in its docstring.

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/e2e \\
        -p test_lifecycle.py -v
"""

import errno
import os
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import time

from harness import (HELLO, IO_TIMEOUT, E2ECase, ProtocolError, ProxyCase,
                     ScriptedOrigin, build_request, merge, short, write_conf)

CHUNKED_POST = (b"POST /chunked HTTP/1.1\r\nHost: test\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")


def pattern(n):
    """The body lg-origin sends for ?size=n."""
    return (b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]


def access_rx(method, target, status=r"\d{3}"):
    """A regex for the access log line of one request; group 1: status."""
    return r'"%s %s HTTP/1\.[01]" (%s) ' % (method, re.escape(target), status)


def split_reply(data):
    """(head, body) of the raw bytes of one reply that ends at a close."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError("no complete reply head in %s" % short(data))
    return head, body


def head_field(head, name):
    m = re.search(rb"(?im)^" + re.escape(name.encode()) +
                  rb":[ \t]*([^\r\n]*?)[ \t]*\r?$", head)
    return m.group(1).decode("latin-1") if m else None


class LifecycleCase(ProxyCase):
    """lg-origin and a proxy in front of it, and the proxy's access log."""

    def access(self, method, target, status=r"\d{3}", since=0,
               timeout=IO_TIMEOUT):
        """The access log line of a request (waits for it)."""
        return self.proxy.wait_line(access_rx(method, target, status),
                                    timeout, since).string


class TestHeadFramingLeak(LifecycleCase):
    """Defect 1: a HEAD request's framing leaks into a later reply of the
    proxy's own, and a refused HEAD gets a body (RFC 9110 §9.3.2: the
    response to HEAD has none)."""

    def test_refusal_after_head_carries_its_body(self):
        c = self.client(self.proxy.port)
        r = c.request("HEAD", "/")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(c.buf, b"", "bytes after the reply to HEAD")
        # Connection: close: the 411 then closes (a small chunked body
        # that came along would otherwise keep the connection)
        c.send(CHUNKED_POST.replace(b"\r\n\r\n",
                                    b"\r\nConnection: close\r\n\r\n", 1))
        data = c.read_until_eof(IO_TIMEOUT)
        head, body = split_reply(data)
        self.assertTrue(head.startswith(b"HTTP/1.1 411 "), short(data))
        cl = head_field(head, "Content-Length")
        self.assertIsNotNone(cl, short(data))
        self.assertEqual(int(cl), len(body),
                         "Content-Length: %s, but %d body bytes before the "
                         "close: %s" % (cl, len(body), short(data)))
        self.assertIn(b"<h1>411 Length Required</h1>", body, short(data))

    # refused by llhttp inside the head, and by the core after it
    REFUSED_HEADS = [
        ("two Content-Length", b"HEAD / HTTP/1.1\r\nHost: test\r\n"
         b"Content-Length: 5\r\nContent-Length: 5\r\n\r\n"),
        ("two Host", b"HEAD / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ]

    def test_refused_head_request_has_no_body(self):
        for name, raw in self.REFUSED_HEADS:
            with self.subTest(case=name):
                c = self.client(self.proxy.port)
                c.send(raw)
                data = c.read_until_eof(IO_TIMEOUT)
                head, body = split_reply(data)
                self.assertTrue(head.startswith(b"HTTP/1.1 400 "), short(data))
                self.assertEqual(body, b"", "%s: %d body bytes after the "
                                 "reply to a HEAD: %s"
                                 % (name, len(body), short(data)))


class TestStaleUpstreamTime(LifecycleCase):
    """Defect 2: `urt=` of a refused request repeats the upstream time of the
    previous request on the connection; it must be `-`."""

    def test_refused_after_forwarded_has_no_urt(self):
        c = self.client(self.proxy.port)
        self.assertEqual(c.request("GET", "/urt-forwarded").status, 200)
        line = self.access("GET", "/urt-forwarded", "200")
        self.assertRegex(line, r" urt=\d+\.\d+ ", "the forwarded one has urt")
        c.send(CHUNKED_POST)
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        line = self.access("POST", "/chunked", "411")
        m = re.search(r" urt=(\S+) ", line)
        self.assertIsNotNone(m, line)
        self.assertEqual(m.group(1), "-", "refused request logged with a "
                         "stale upstream time: %s" % line)


class TestClientGoneLogged(LifecycleCase):
    """Defect 3: a client that goes away before its response is complete is
    never logged; it must be logged with status 499. (Bodies streamed: the
    origin sees the request while its body comes.)"""

    overrides = {"proxy": {"request_buffering": "off"}}

    def test_close_mid_body(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /gone-mid-body HTTP/1.1\r\nHost: test\r\n"
               b"Content-Length: 100\r\n\r\n" + b"x" * 10)
        self.origin.wait_request("/gone-mid-body")     # it is being forwarded
        c.close()
        self.access("POST", "/gone-mid-body", "499")

    def test_reset_while_waiting_for_the_response(self):
        target = "/gone-waiting?sleep=3000"
        c = self.client(self.proxy.port)
        c.send(build_request("GET", target))
        self.origin.wait_request(target)        # the proxy is waiting now
        # SO_LINGER 0: close() sends a reset, so the response cannot complete
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        c.close()
        self.access("GET", target, "499")


class TestHalfClose(LifecycleCase):
    """Defect 4: a client that sends complete requests then shuts down its
    writing side (SHUT_WR) still gets every response, then EOF."""

    def test_get_then_shut_wr(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/half-close"))
        c.shutdown_write()
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, HELLO, r)
        self.assertEqual(c.read_until_eof(IO_TIMEOUT), b"",
                         "bytes after the response")
        self.access("GET", "/half-close", "200")

    def test_three_pipelined_then_shut_wr(self):
        targets = ["/hc%d?size=%d" % (i, 100 + i) for i in range(3)]
        c = self.client(self.proxy.port)
        c.send(b"".join(build_request("GET", t) for t in targets))
        c.shutdown_write()
        for i, t in enumerate(targets):
            r = c.read_response()
            self.assertEqual(r.status, 200, "response %d: %r" % (i, r))
            self.assertEqual(r.body, pattern(100 + i),
                             "response %d is not %s's: %r" % (i, t, r))
        self.assertEqual(c.read_until_eof(IO_TIMEOUT), b"",
                         "bytes after the responses")
        for t in targets:
            self.access("GET", t, "200")
        logged = [l for l in self.proxy.log.lines()
                  if re.search(r'"GET /hc\d', l)]
        self.assertEqual([re.search(r'"GET (\S+)', l).group(1)
                          for l in logged], targets, "\n".join(logged))

    def test_head_cut_short_then_shut_wr(self):
        """Half a head, then SHUT_WR: the head will never be complete; the
        client (which can still read) is told so with a 400, then EOF."""
        c = self.client(self.proxy.port)
        c.send(b"GET /cut HTTP/1.1\r\nHost: te")
        c.shutdown_write()
        r = c.read_response()
        self.assertEqual(r.status, 400, r)
        self.assertEqual(c.read_until_eof(IO_TIMEOUT), b"",
                         "bytes after the 400")
        self.proxy.wait_line(r'" 400 \d+ .*verdict="request head cut short"')


def proc_fds(pid):
    return sorted(int(f) for f in os.listdir("/proc/%d/fd" % pid))


def proc_cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TestAcceptEmfile(LifecycleCase):
    """Defect 5: out of descriptors (EMFILE) with no connection open, the
    accept loop spins at 100% CPU and floods the error log; it must back
    off, and serve the waiting client once descriptors are available."""

    WINDOW = 2.0

    def test_emfile_backs_off_then_serves(self):
        pid = self.proxy.pid
        old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        fds = proc_fds(pid)
        # the lowest free descriptor: a soft limit of that makes accept()
        # fail (the hard limit stays: raising it back needs privileges)
        low = min(set(range(len(fds) + 1)) - set(fds))
        self.addCleanup(self.restore_nofile, pid, old)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (low, old[1]))
        mark = self.proxy.log.mark()
        cpu0 = proc_cpu_seconds(pid)
        c = self.client(self.proxy.port)        # queued in the backlog
        c.send(build_request("GET", "/emfile"))
        # the proxy did run into EMFILE (else this test proves nothing)
        self.proxy.wait_line(r"accept: ", since=mark, timeout=5.0)
        time.sleep(self.WINDOW)     # the observation window, not a wait
        cpu = proc_cpu_seconds(pid) - cpu0
        n = sum(1 for l in self.proxy.log.lines()[mark:]
                if re.search(r"accept: ", l))
        resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        self.assertLessEqual(n, 5, "%d accept: lines in %.1f s (CPU %.2f s)"
                             % (n, self.WINDOW, cpu))
        self.assertLess(cpu, 0.5, "the proxy used %.2f s of CPU in %.1f s "
                        "out of descriptors" % (cpu, self.WINDOW))
        r = c.read_response(timeout=5.0)
        self.assertEqual(r.status, 200, r)

    @staticmethod
    def restore_nofile(pid, old):
        try:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        except OSError:
            pass        # it has exited


class TestNofileWarning(E2ECase):
    """Defect 5: started with a RLIMIT_NOFILE below what max_connections
    needs, the proxy says so at start."""

    def test_low_nofile_warns_of_max_connections(self):
        def low_nofile():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        origin = self.start_origin()
        p = self.start_proxy(origin.port, preexec_fn=low_nofile)
        self.assertEqual(resource.prlimit(p.pid, resource.RLIMIT_NOFILE),
                         (64, 64))
        p.wait_line(r"warn: .*max_connections.*RLIMIT_NOFILE", timeout=5.0)


def stalled_listener(case):
    """A loopback listener that never completes a TCP connect: listen(0),
    and filler connections left in its accept queue until a new connect
    stays in progress (the kernel drops SYNs to a full queue). Returns its
    port; the sockets close at the test's cleanup."""
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    case.addCleanup(lst.close)
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    addr = lst.getsockname()
    for _ in range(16):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        case.addCleanup(s.close)
        s.setblocking(False)
        err = s.connect_ex(addr)
        if err == 0:
            continue
        case.assertEqual(err, errno.EINPROGRESS, "connect: %s" % os.strerror(err))
        _, w, _ = select.select([], [s], [], 0.5)
        if not w:
            return addr[1]      # stays in progress: the queue is full
        case.assertEqual(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0)
    case.fail("a listen(0) queue took 16 connections")


class TestUpstreamConnectTimer(E2ECase):
    """Defect 6: every client body read re-arms the upstream connect timer,
    so a body that trickles in postpones the 504 forever; the connect
    timeout counts from the connect."""

    BYTES, PACE = 20, 0.25

    def test_trickled_body_does_not_postpone_504(self):
        port = stalled_listener(self)
        proxy = self.start_proxy(port, {
            "proxy": {"request_buffering": "off"},
            "timeouts": {"upstream_connect": "1s", "client_body": "10s"}})
        c = self.client(proxy.port)
        c.send(b"POST /trickle HTTP/1.1\r\nHost: test\r\n"
               b"Content-Length: %d\r\n\r\n" % self.BYTES)
        t0 = time.monotonic()
        end = t0 + self.BYTES * self.PACE + IO_TIMEOUT
        got, first, sent = b"", None, 0
        c.sock.setblocking(False)
        while b"\r\n\r\n" not in got:
            now = time.monotonic()
            if now >= end:
                break
            due = t0 + (sent + 1) * self.PACE
            wait = max(0.0, due - now) if sent < self.BYTES else end - now
            r, _, _ = select.select([c.sock], [], [], wait)   # the pacing
            if r:
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionResetError:
                    data = b""
                if not data:
                    break
                if first is None:
                    first = time.monotonic() - t0
                got += data
            elif sent < self.BYTES and time.monotonic() >= due:
                try:
                    c.sock.send(b"x")
                except OSError:
                    break
                sent += 1
        self.assertIsNotNone(first, "no reply within %.1f s"
                             % (time.monotonic() - t0))
        self.assertTrue(got.startswith(b"HTTP/1.1 504 "), short(got))
        self.assertLess(first, 2.5, "504 %.2f s after the head, %d body "
                        "bytes sent" % (first, sent))


def closing_script(conn, nth, method, target, body):
    """ScriptedOrigin's script for defect 7: the first request on each
    connection gets a 200 with Content-Length and keep-alive; the second is
    read whole, then the connection is closed without an answer."""
    if nth >= 2:
        return [None]
    reply = b"%s %s %d\n" % (method.encode(), target.encode(), len(body))
    return [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
            b"Connection: keep-alive\r\n\r\n%s" % (len(reply), reply)]


class TestRetryReusedConnection(E2ECase):
    """Defect 7: a request sent on a reused pooled upstream connection that
    the upstream closes before answering is retried once on a fresh
    connection when its method is idempotent (RFC 9110 §9.2.2), body
    included; a POST is not retried (502)."""

    def setUp(self):
        super().setUp()
        self.origin = ScriptedOrigin(closing_script)
        self.addCleanup(self.origin.stop)
        self.proxy = self.start_proxy(self.origin.port)
        c = self.client(self.proxy.port)
        r = c.request("GET", "/a")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"GET /a 0\n", r)
        c.close()       # the upstream connection stays in the pool

    def second(self, method, target, body=b""):
        """Send on a new client connection: the proxy reuses the pooled
        connection, which the origin closes; returns the response and what
        the origin saw of `target`."""
        c = self.client(self.proxy.port)
        r = c.request(method, target, body=body)
        seen = [q for q in self.origin.wait_seen(3, timeout=2.0)
                if q[3] == target]
        self.assertIn((1, 2), [q[:2] for q in seen], "the pooled connection "
                      "was not reused: %r" % (self.origin.seen,))
        return r, seen

    def test_get_retried_on_a_fresh_connection(self):
        r, seen = self.second("GET", "/b")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"GET /b 0\n", r)
        self.assertEqual([q[:2] for q in seen], [(1, 2), (2, 1)], seen)

    def test_put_retried_with_its_body(self):
        body = os.urandom(1000)
        r, seen = self.second("PUT", "/c", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"PUT /c 1000\n", r)
        fresh = [q for q in seen if q[:2] == (2, 1)]
        self.assertEqual(len(fresh), 1, seen)
        self.assertEqual(fresh[0][4], body, "the retried body differs")

    def test_post_not_retried(self):
        r, seen = self.second("POST", "/d", b"x" * 100)
        self.assertEqual(r.status, 502, r)
        self.assertEqual(len(seen), 1, "the origin saw the POST %d times: %r"
                         % (len(seen), seen))


class TestReloadKeepsConnections(LifecycleCase):
    """Defect 11: SIGHUP never closes a client connection, idle or busy;
    each connection takes the new configuration at its next request."""

    def reload(self, over=None):
        if over:
            self.proxy.settings = merge(self.proxy.settings, over)
            write_conf(self.proxy.conf, self.proxy.settings)
        mark = self.proxy.log.mark()
        self.proxy.send_signal(signal.SIGHUP)
        self.proxy.wait_line(r"configuration reloaded", since=mark, timeout=5.0)

    def assert_still_served(self, c, target):
        try:
            r = c.request("GET", target)
        except ProtocolError as e:
            self.fail("the connection did not survive the reload: %s" % e)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.has_token("Connection", "close"), r)

    def test_idle_connection(self):
        c = self.client(self.proxy.port)
        self.assertEqual(c.request("GET", "/before").status, 200)
        self.reload({"timeouts": {"keepalive": "30s"}})
        self.assert_still_served(c, "/after")
        self.assert_still_served(c, "/after-2")

    def test_busy_connection(self):
        target = "/busy?sleep=1000"
        c = self.client(self.proxy.port)
        c.send(build_request("GET", target))
        self.origin.wait_request(target)
        self.reload({"timeouts": {"keepalive": "30s"}})
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.has_token("Connection", "close"), r)
        self.assert_still_served(c, "/after-busy")

    def test_next_request_takes_the_new_conf(self):
        c = self.client(self.proxy.port)
        self.assertEqual(c.request("GET", "/before").status, 200)
        self.reload({"limits": {"max_body_size": "100"}})
        try:
            r = c.request("POST", "/big-now", body=b"x" * 1000)
        except ProtocolError as e:
            self.fail("the connection did not survive the reload: %s" % e)
        self.assertEqual(r.status, 413, r)


class TestReloadUnderLoad(LifecycleCase):
    """Defect 11 (the measurement): wrk against the proxy while it reloads
    20 times: no request fails."""

    overrides = {"log": {"access": "off"}}
    RELOADS, SECONDS = 20, 6

    def test_wrk_during_reloads(self):
        wrk = shutil.which("wrk")
        if wrk is None:
            self.skipTest("wrk is not installed (apt-get install wrk)")
        p = subprocess.Popen([wrk, "-t1", "-c50", "-d%ds" % self.SECONDS,
                              "--timeout", "5s",
                              "http://127.0.0.1:%d/" % self.proxy.port],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(p.kill)
        t0 = time.monotonic()
        pace = (self.SECONDS - 1.0) / self.RELOADS
        for i in range(self.RELOADS):
            left = t0 + 0.5 + i * pace - time.monotonic()
            if left > 0:
                time.sleep(left)        # the reload pacing (the stimulus)
            mark = self.proxy.log.mark()
            self.proxy.send_signal(signal.SIGHUP)
            self.proxy.wait_line(r"configuration reloaded", since=mark,
                                 timeout=5.0)
        out, _ = p.communicate(timeout=self.SECONDS + 30)
        out = out.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        m = re.search(r"(\d+) requests in", out)
        self.assertIsNotNone(m, out)
        self.assertGreater(int(m.group(1)), 0, out)
        self.assertNotIn("Socket errors", out, out)
        self.assertNotIn("Non-2xx", out, out)


if __name__ == "__main__":
    import unittest
    unittest.main()


class TestClientStopsReading(LifecycleCase):
    """A client that stops reading a large response: once lengthguard's
    output to it is full, the upstream is paused, and when the response
    timeout runs out it is the client's fault, logged as such (nginx's
    send_timeout), not as an upstream timeout."""

    overrides = {"timeouts": {"upstream_response": "1s"}}

    def test_logged_as_the_client(self):
        c = self.client(self.proxy.port)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(build_request("GET", "/big?size=%d" % (64 * 1024 * 1024)))
        line = self.proxy.wait_line(r'"GET /big\?size=\d+ HTTP/1\.1" 200 ',
                                    timeout=IO_TIMEOUT)
        self.assertIn('verdict="client stopped reading the response"',
                      line.string)
