"""End-to-end tests of request buffering ([proxy] request_buffering), of
dechunked uploads ([policy] chunked = buffer) and of the 411 that keeps
the connection: what the origin receives, byte for byte (sha256), when it
receives it, and what the proxy holds meanwhile (memory, descriptors,
temporary files).

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/e2e \\
        -p test_buffering.py -v
"""

import hashlib
import os
import random
import re
import selectors
import socket
import threading
import time

from harness import (IO_TIMEOUT, E2ECase, ProxyCase, ThreadedOrigin,
                     build_request)

MIB = 1 << 20
# every test ends within this, whatever happens
TEST_DEADLINE = 60.0


def chunked(body, size):
    """body as a chunked body of chunks of `size` bytes (the last shorter)."""
    out = []
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
    out.append(b"0\r\n\r\n")
    return b"".join(out)


def te_head(target, extra=b""):
    return (b"POST %s HTTP/1.1\r\nHost: test\r\n%s"
            b"Transfer-Encoding: chunked\r\n\r\n" % (target.encode(), extra))


def cl_head(target, n):
    return (b"POST %s HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n"
            % (target.encode(), n))


def proc_status(pid):
    """/proc/PID/status as {field: value in kB (int) or text}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip()
            out[k] = int(v.split()[0]) if v.endswith("kB") else v
    return out


def proc_fds(pid):
    """The targets of /proc/PID/fd/*."""
    d = "/proc/%d/fd" % pid
    out = []
    for n in os.listdir(d):
        try:
            out.append(os.readlink(os.path.join(d, n)))
        except OSError:
            pass        # closed meanwhile
    return out


class HashOrigin(ThreadedOrigin):
    """A loopback origin that reads Content-Length bodies of any size,
    hashes them as they come (sha256) and answers 200 with the digest.
    It counts the connections it accepted and records how each one ended
    while a body was still expected: "reset" (an error) or "eof" (a clean
    end with the body short: what a backend reading to EOF takes for a
    complete body)."""

    def __init__(self):
        self.heads = []         # targets of the heads read
        self.seen = []          # (target, length, sha256 hex)
        self.cut = []           # (target, bytes received, "reset" | "eof")
        super().__init__(backlog=1024)

    def _serve(self, s, conn):
        s.settimeout(IO_TIMEOUT * 2)
        buf = b""
        try:
            while not self.stopping:
                got = self.read_head(s, buf)
                if got is None:
                    return
                head, buf = got
                target = head.split(b" ")[1].decode()
                m = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
                n = int(m.group(1)) if m else 0
                with self.cond:
                    self.heads.append(target)
                    self.cond.notify_all()
                h = hashlib.sha256()
                got = min(n, len(buf))
                h.update(buf[:got])
                buf = buf[got:]
                while got < n:
                    try:
                        data = s.recv(min(n - got, 1 << 20))
                    except ConnectionResetError:
                        self._cut(target, got, "reset")
                        return
                    if not data:
                        self._cut(target, got, "eof")
                        return
                    h.update(data)
                    got += len(data)
                with self.cond:
                    self.seen.append((target, n, h.hexdigest()))
                    self.cond.notify_all()
                body = h.hexdigest().encode()
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                          % (len(body), body))
        except OSError:
            pass
        finally:
            s.close()

    def _cut(self, target, got, how):
        with self.cond:
            self.cut.append((target, got, how))
            self.cond.notify_all()

    def wait(self, pred, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True



class BufferingCase(E2ECase):
    """A HashOrigin and a proxy in front of it."""

    overrides = None
    origin_class = HashOrigin

    def setUp(self):
        super().setUp()
        self.origin = self.origin_class()
        self.addCleanup(self.origin.stop)
        self.temp_dir = os.path.join(self.tmpdir, "bodies")
        os.mkdir(self.temp_dir)
        over = {"proxy": {"temp_dir": self.temp_dir}}
        for sec, keys in (self.overrides or {}).items():
            over.setdefault(sec, {}).update(keys)
        self.proxy = self.start_proxy(self.origin.port, over)
        self.t0 = time.monotonic()

    def left(self):
        left = TEST_DEADLINE - (time.monotonic() - self.t0)
        self.assertGreater(left, 0, "the test ran out of time")
        return left

    def upload(self, head, body_parts, target):
        """Send head and body parts on a new connection; the response."""
        c = self.client(self.proxy.port, timeout=30.0)
        c.send(head)
        for p in body_parts:
            c.send(p)
        r = c.read_response("POST")
        c.close()
        return r

    def wait_access(self, rx, n=1, timeout=IO_TIMEOUT):
        """Wait until n access log lines match rx."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [l for l in self.proxy.log.lines() if re.search(rx, l)]
            if len(got) >= n:
                return got
            self.proxy.log.wait_for(rx, timeout=0.2,
                                    since=len(self.proxy.log.lines()))
        self.fail("%d access lines matching %r not seen" % (n, rx))


def many(port, n, head, body, first, deadline):
    """Open n connections to port; send head and the first `first` bytes of
    body on each; return the sockets (non-blocking)."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        s.setblocking(False)
        socks.append([s, head + body[:first], b""])
    pump(socks, deadline)
    return socks


def pump(socks, deadline, read=False):
    """Send what each [sock, to_send, received] still has to send; with
    read, then read each response until its end (Content-Length) or EOF.
    Bounded by deadline."""
    sel = selectors.DefaultSelector()
    for ent in socks:
        if ent[1] or read:
            sel.register(ent[0], (selectors.EVENT_WRITE if ent[1] else 0) |
                         (selectors.EVENT_READ if read else 0), ent)
    done = 0
    total = len(sel.get_map())
    while done < total and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.5):
            ent = key.data
            s = ent[0]
            if ev & selectors.EVENT_WRITE and ent[1]:
                try:
                    k = s.send(ent[1][:1 << 18])
                except BlockingIOError:
                    k = 0
                ent[1] = ent[1][k:]
                if not ent[1]:
                    if read:
                        sel.modify(s, selectors.EVENT_READ, ent)
                    else:
                        sel.unregister(s)
                        done += 1
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                ent[2] += data
                if not data or response_complete(ent[2]):
                    sel.unregister(s)
                    done += 1
    sel.close()
    return done == total


def response_complete(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


class DechunkTest(BufferingCase):
    """chunked = buffer: the origin gets one Content-Length and exactly the
    payload, from 1 byte to 100 MiB, whatever the chunk sizes."""

    overrides = {"policy": {"chunked": "buffer"},
                 "limits": {"max_buffered_body": "101m",
                            "max_body_size": "101m"}}

    def check(self, body, size, target, pieces=1):
        wire = chunked(body, size)
        step = max(1, len(wire) // pieces)
        parts = [wire[i:i + step] for i in range(0, len(wire), step)]
        r = self.upload(te_head(target), parts, target)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body.decode(), hashlib.sha256(body).hexdigest(),
                         "%s: the origin got other bytes" % target)
        return r

    def test_sizes_and_chunk_sizes(self):
        rnd = random.Random(10)
        cases = [(1, 1), (2, 1), (100, 1), (100, 7), (16383, 4096),
                 (16384, 16384), (16385, 1000), (70000, 1),
                 (MIB, 65536), (MIB + 3, 333333)]
        for i, (n, size) in enumerate(cases):
            body = rnd.randbytes(n)
            self.check(body, size, "/d%d-%d-%d" % (i, n, size), pieces=3)
            self.left()
        seen = {t: (n, d) for t, n, d in self.origin.seen}
        self.assertEqual(len(seen), len(cases))
        for t, (n, _) in seen.items():
            self.assertEqual(n, int(t.split("-")[1]),
                             "%s: Content-Length upstream" % t)
        # the upstream head: Content-Length, no Transfer-Encoding (the
        # origin would have read no body without a Content-Length)

    def test_100_mib(self):
        body = random.Random(100).randbytes(100 * MIB)
        self.check(body, 256 * 1024, "/big")
        self.assertEqual(self.origin.seen[-1][1], 100 * MIB)
        # the body went through a temporary file that no name points to
        self.assertEqual(os.listdir(self.temp_dir), [])

    def test_expect_100_continue(self):
        c = self.client(self.proxy.port)
        c.send(te_head("/expect", b"Expect: 100-continue\r\n"))
        r = c.read_response("POST", stop_at_interim=True)
        self.assertEqual(r.status, 100, r)
        self.assertEqual(self.origin.connections, 0)
        c.send(chunked(b"hello world", 3))
        r = c.read_response("POST")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body.decode(),
                         hashlib.sha256(b"hello world").hexdigest())

    def test_invalid_chunk_syntax_at_every_split(self):
        """400 and close, and nothing reaches the origin, however the
        request is cut into two sends."""
        bad = [b"5\r\nhello\n0\r\n\r\n",       # bare LF after data
               b"+5\r\nhello\r\n0\r\n\r\n",    # a signed size
               b"5 \r\nhello\r\n0\r\n\r\n",    # a space after the size
               b"g\r\nx\r\n0\r\n\r\n",         # not hex
               b"5\r\nhelloXY0\r\n\r\n",       # data longer than its size
               b"0\r\nT\r\n\r\n"]              # a trailer with no colon
        n = 0
        for body in bad:
            req = te_head("/bad") + body
            for k in range(len(te_head("/bad")) - 4, len(req)):
                c = self.client(self.proxy.port)
                c.send(req[:k])
                c.send(req[k:])
                r = c.read_response("POST")
                self.assertEqual(r.status, 400, (body, k, r))
                self.assertEqual(c.read_until_eof(5.0), b"", (body, k))
                c.close()
                n += 1
            self.left()
        self.assertGreater(n, 100)
        self.assertEqual(self.origin.connections, 0)

    def test_over_max_buffered_body_413_at_once(self):
        c = self.client(self.proxy.port)
        # the chunk-size alone goes over the limit: 413 before its data
        c.send(te_head("/big") + b"%x\r\n" % (101 * MIB + 1))
        r = c.read_response("POST")
        self.assertEqual(r.status, 413, r)
        self.assertEqual(self.origin.connections, 0)


class HoldTest(BufferingCase):
    """request_buffering = on: a body is received whole before an upstream
    connection is taken."""

    overrides = {"proxy": {"max_connections": "2000"},
                 "timeouts": {"client_body": "30s"}}

    def test_cut_short_never_reaches_origin(self):
        """Content-Length: 10, 5 bytes, gone: the origin sees nothing."""
        c = self.client(self.proxy.port)
        c.send(cl_head("/cut", 10) + b"12345")
        c.close()
        self.wait_access(r'"POST /cut HTTP/1\.1" 499 ')
        r = self.upload(cl_head("/after", 3), [b"abc"], "/after")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([s[0] for s in self.origin.seen], ["/after"])
        self.assertEqual(self.origin.connections, 1)
        self.assertEqual(self.origin.cut, [])

    def test_500_slow_clients_hold_no_upstream_connection(self):
        n = 500
        body = b"s" * 20000
        deadline = time.monotonic() + 30
        socks = many(self.proxy.port, n, cl_head("/slow", len(body)), body,
                     len(body) // 2, deadline)
        # a complete request after them: served, alone upstream
        r = self.upload(cl_head("/quick", 1), [b"q"], "/quick")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.origin.connections, 1,
                         "slow clients took upstream connections")
        # the rest of each body: then all of them go up
        for ent in socks:
            ent[1] = body[len(body) // 2:]
        self.assertTrue(pump(socks, deadline, read=True), "not all answered")
        want = hashlib.sha256(body).hexdigest().encode()
        for s, _, got in socks:
            s.close()
            self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got[:200])
            self.assertTrue(got.endswith(want), got[-100:])
        self.assertEqual(sum(1 for t, _, _ in self.origin.seen
                             if t == "/slow"), n)


class StreamingCutTest(BufferingCase):
    """request_buffering = off: a body cut short reaches the origin as a
    reset, never as a clean end of a 5-byte body."""

    overrides = {"proxy": {"request_buffering": "off"}}

    def test_cut_short_is_a_reset_upstream(self):
        c = self.client(self.proxy.port)
        c.send(cl_head("/cut", 10) + b"12345")
        self.assertTrue(self.origin.wait(lambda: self.origin.heads),
                        "the request did not go upstream")
        c.close()
        self.assertTrue(self.origin.wait(lambda: self.origin.cut),
                        "the origin never saw the end")
        # a reset may drop bytes the origin had not read yet: how many of
        # the 5 it got varies, the error does not
        self.assertEqual([(t, how) for t, _, how in self.origin.cut],
                         [("/cut", "reset")], self.origin.cut)
        self.assertLessEqual(self.origin.cut[0][1], 5)
        self.assertEqual(self.origin.seen, [])


class StallOrigin(HashOrigin):
    """A HashOrigin that, once it has read the head of /stall, reads
    nothing more until the test sets .release, and that answers the head
    of /early at once (a response before the body), then reads the body
    on as usual."""

    def __init__(self):
        self.release = threading.Event()
        super().__init__()

    def read_head(self, s, buf):
        got = HashOrigin.read_head(s, buf)
        if got is not None:
            target = got[0].split(b" ")[1]
            if target == b"/stall":
                self.release.wait(IO_TIMEOUT)
            elif target == b"/early":
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"
                          b"early\n")
        return got


class UpstreamSendCutTest(BufferingCase):
    """A request lengthguard gives up on before all of it went upstream
    reaches the upstream as a reset of its connection, never as a clean
    end after part of the body, which a backend reading a body to EOF
    would take for the whole body (docs/framing.md). Here the upstream
    stops taking the body (upstream_send runs out)."""

    origin_class = StallOrigin
    overrides = {"timeouts": {"upstream_send": "1s"}}

    def test_send_timeout_is_a_reset_upstream(self):
        # more than the loopback socket buffers of both sides hold
        size = 32 * MIB
        c = self.client(self.proxy.port, timeout=30.0)
        c.send(cl_head("/stall", size) + random.Random(2).randbytes(size))
        r = c.read_response("POST")
        self.assertEqual(r.status, 504, r)
        self.origin.release.set()
        self.assertTrue(self.origin.wait(lambda: self.origin.cut),
                        "the origin never saw the end")
        self.assertEqual([(t, how) for t, _, how in self.origin.cut],
                         [("/stall", "reset")], self.origin.cut)
        self.assertEqual(self.origin.seen, [])


class EarlyResponseCutTest(BufferingCase):
    """The same when the upstream answers before the body has come
    (streamed: a buffered body would be whole before it went up): the
    response is relayed, and the upstream, still reading the body, sees
    a reset."""

    origin_class = StallOrigin
    overrides = {"proxy": {"request_buffering": "off"}}

    def test_early_response_is_a_reset_upstream(self):
        c = self.client(self.proxy.port)
        c.send(cl_head("/early", 100000) + b"x" * 10)
        r = c.read_response("POST")
        self.assertEqual((r.status, r.body), (200, b"early\n"), r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assertTrue(self.origin.wait(lambda: self.origin.cut),
                        "the origin never saw the end")
        self.assertEqual([(t, how) for t, _, how in self.origin.cut],
                         [("/early", "reset")], self.origin.cut)
        self.assertEqual(self.origin.seen, [])

class MemoryTest(BufferingCase):
    """1,000 clients upload 1 MiB each at once: bodies that would each fit
    in memory (body_buffer_size 1m) go to temporary files once the
    worker's buffer_memory (8m) is taken, so the proxy's peak RSS stays
    near its size at rest plus the cap, far below the 1,000 MiB of the
    bodies; afterwards no descriptor and no file is left."""

    overrides = {"proxy": {"max_connections": "3000"},
                 "limits": {"body_buffer_size": "1m", "buffer_memory": "8m"},
                 "timeouts": {"client_body": "30s"}}

    def test_rss_under_cap_and_nothing_left(self):
        pid = self.proxy.pid
        r = self.upload(cl_head("/warm", 1), [b"w"], "/warm")
        self.assertEqual(r.status, 200, r)
        rest = proc_status(pid)["VmRSS"]
        fds0 = len(proc_fds(pid))
        n = 1000
        body = random.Random(1).randbytes(MIB)
        deadline = time.monotonic() + 45
        socks = many(self.proxy.port, n, cl_head("/m", MIB), body, MIB,
                     deadline)
        self.assertTrue(pump(socks, deadline, read=True), "not all answered")
        want = hashlib.sha256(body).hexdigest().encode()
        ok = sum(1 for s, _, got in socks if got.endswith(want))
        for s, _, _ in socks:
            s.close()
        self.assertEqual(ok, n)
        hwm = proc_status(pid)["VmHWM"]
        # the cap, and per connection its input buffer and inspector
        # (about 50 KiB): 8 MiB + 1,000 x 64 KiB, against 1,000 MiB
        bound = rest + 8 * 1024 + n * 64
        self.assertLess(hwm, bound, "peak RSS %d kB, at rest %d kB"
                        % (hwm, rest))
        self.wait_access(r'"POST /m HTTP/1\.1" 200 ', n)
        self.assertEqual(os.listdir(self.temp_dir), [])
        deadline = time.monotonic() + 5
        while len(proc_fds(pid)) > fds0 + 40 and time.monotonic() < deadline:
            time.sleep(0.05)    # closing client connections: polled, bounded
        fds = proc_fds(pid)
        self.assertFalse([f for f in fds if "(deleted)" in f or
                          f.startswith(self.temp_dir)], fds)


class AbortTest(BufferingCase):
    """Clients that leave in the middle of bodies held in temporary files:
    every descriptor and file is gone at once."""

    overrides = {"limits": {"body_buffer_size": "16k"}}

    def test_aborts_free_files_and_descriptors(self):
        pid = self.proxy.pid
        fds0 = len(proc_fds(pid))
        n = 50
        body = b"a" * (200 * 1024)
        deadline = time.monotonic() + 20
        socks = many(self.proxy.port, n, cl_head("/abort", len(body)), body,
                     100 * 1024, deadline)
        # the proxy holds them: each has a temporary file, unlinked
        end = time.monotonic() + 10
        while time.monotonic() < end:
            held = [f for f in proc_fds(pid) if "(deleted)" in f or
                    f.startswith(self.temp_dir)]
            if len(held) >= n:
                break
            time.sleep(0.05)    # polled, bounded: the proxy reads them
        self.assertEqual(len(held), n, held[:5])
        self.assertEqual(os.listdir(self.temp_dir), [])
        for s, _, _ in socks:
            s.close()
        self.wait_access(r'"POST /abort HTTP/1\.1" 499 ', n)
        fds = proc_fds(pid)
        self.assertEqual(len(fds), fds0, fds)
        self.assertEqual(os.listdir(self.temp_dir), [])
        self.assertEqual(self.origin.connections, 0)

    def test_body_deadline(self):
        """client_body_total applies while the body is received whole."""
        self.proxy.stop()
        self.procs.remove(self.proxy)
        self.proxy = self.start_proxy(self.origin.port, {
            "proxy": {"temp_dir": self.temp_dir},
            "timeouts": {"client_body_total": "1s", "client_body": "10s"}})
        c = self.client(self.proxy.port)
        c.send(cl_head("/trickle", 100) + b"x")
        t0 = time.monotonic()
        end = t0 + 5
        r = None
        while time.monotonic() < end:
            c.send(b"x")
            try:
                r = c.read_response("POST", timeout=0.3)
                break
            except AssertionError:
                continue
        self.assertIsNotNone(r, "no answer within 5 s")
        self.assertEqual(r.status, 408, r)
        self.assertEqual(self.origin.connections, 0)


class Discard411Test(ProxyCase):
    """chunked = reject: a small chunked body sent with its head is read
    and discarded, the 411 keeps the connection, and the client's retry
    with a Content-Length is answered on it."""

    def test_retry_on_the_same_connection(self):
        c = self.client(self.proxy.port)
        c.send(te_head("/c") + chunked(b"hello world", 4))
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertFalse(r.has_token("Connection", "close"), r)
        c.send(build_request("POST", "/retry", body=b"hello world"))
        r = c.read_response("POST")
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request("/retry")
        self.assertEqual([q[1] for q in self.origin.requests()], ["/retry"])

    def test_pipelined_behind_the_body_closes(self):
        """A request right behind the refused body was sent without
        knowing the 411: never read, 411 and close, as for any refusal."""
        c = self.client(self.proxy.port)
        c.send(te_head("/c") + chunked(b"hello", 5) +
               build_request("GET", "/pipelined"))
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assert_closed(c, "after the 411")
        self.assert_origin_untouched()

    def test_large_or_late_body_closes(self):
        # over the bound (64 KiB): 411 and close, as before
        c = self.client(self.proxy.port)
        c.send(te_head("/large") + chunked(b"x" * (80 * 1024), 8192))
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assert_closed(c, "a large refused body")
        # no body within the bound (1 s): 411 and close
        c = self.client(self.proxy.port)
        c.send(te_head("/late"))
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        # Expect: 100-continue: the client waits, so 411 and close at once
        c = self.client(self.proxy.port)
        t0 = time.monotonic()
        c.send(te_head("/expect", b"Expect: 100-continue\r\n"))
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertLess(time.monotonic() - t0, 0.9)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assert_origin_untouched()


class PlainCloseTest(ProxyCase):
    """A request that says Connection: close, refused (the 411 of a
    chunked one) or answered: a plain close when the whole request was
    read and nothing can follow it, the lingering close otherwise (RFC
    9112 §9.6). linger is long here, so that a lingering connection is
    told from a closed one by the proxy's "connection closed" line, not by
    a time."""

    overrides = {"timeouts": {"linger": "30s"}, "log": {"level": "debug"}}
    CLOSED = r"debug: worker 0: connection closed \(0 open\)"

    def head(self, target):
        return te_head(target, b"Connection: close\r\n")

    def read_411(self, c):
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertIn(b"<h1>411 Length Required</h1>", r.body, r)
        self.assertTrue(r.body.rstrip().endswith(b"</html>"), r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assert_closed(c, "after the 411")

    def assert_no_reset(self, c, more):
        """The proxy is still draining: `more` bytes sent now, then the
        client's end of stream, end the connection without a reset (a
        closed socket answers bytes with one, on loopback at once)."""
        mark = self.proxy.log.mark()
        try:
            c.sock.sendall(more)
            c.sock.shutdown(socket.SHUT_WR)
            self.proxy.wait_line(self.CLOSED, timeout=5, since=mark)
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            self.assertEqual(c.sock.recv(1), b"")
        except OSError as e:
            self.fail("a reset after the 411: %s" % e)
        self.assertEqual(err, 0, "a reset after the 411: %s"
                         % os.strerror(err))

    def test_read_whole_closes_at_once(self):
        c = self.client(self.proxy.port)
        mark = self.proxy.log.mark()
        c.send(self.head("/c") + chunked(b"hello world", 4))
        self.read_411(c)
        # the client keeps its side open: a lingering close would wait
        # for it (or 30 s)
        self.proxy.wait_line(self.CLOSED, timeout=5, since=mark)
        self.assert_origin_untouched()

    def test_bytes_behind_the_request_linger(self):
        """A request pipelined behind it, against the client's own
        Connection: close: the whole 411 page, and what the client still
        sends is drained, never answered with a reset."""
        c = self.client(self.proxy.port)
        c.send(self.head("/c") + chunked(b"hello", 5) +
               build_request("GET", "/pipelined"))
        self.read_411(c)
        self.assert_no_reset(c, build_request("GET", "/more") * 20)
        self.assert_origin_untouched()

    def test_body_still_coming_lingers(self):
        """Only part of the body came with the head: the rest, sent after
        the 411, is drained, never answered with a reset."""
        c = self.client(self.proxy.port)
        body = chunked(b"x" * 3000, 1000)
        c.send(self.head("/c") + body[:1500])
        self.read_411(c)
        self.assert_no_reset(c, body[1500:])
        self.assert_origin_untouched()

    def test_keep_alive_expect_lingers(self):
        """A keep-alive client that asked for 100-continue and sent its
        body anyway: its 411 is not discarded (it closes), yet it may send
        a next request: the lingering close drains it, never a reset."""
        c = self.client(self.proxy.port)
        c.send(te_head("/c", b"Expect: 100-continue\r\n") +
               chunked(b"hello world", 4))
        self.read_411(c)
        self.assert_no_reset(c, build_request("GET", "/next"))
        self.assert_origin_untouched()

    def test_answered_closes_at_once(self):
        c = self.client(self.proxy.port)
        mark = self.proxy.log.mark()
        c.send(build_request("POST", "/p", [("Connection", "close")],
                             body=b"hello"))
        r = c.read_response("POST")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assert_closed(c, "after the response")
        self.proxy.wait_line(self.CLOSED, timeout=5, since=mark)

    def test_answered_with_bytes_behind_lingers(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/g", [("Connection", "close")]) +
               build_request("GET", "/pipelined"))
        r = c.read_response("GET")
        self.assertEqual(r.status, 200, r)
        self.assert_closed(c, "after the response")
        self.assert_no_reset(c, build_request("GET", "/more") * 20)
