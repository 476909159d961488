"""End-to-end tests of [policy] mode = monitor: what enforcement would
refuse for a body with no defined length or an acceptable or ambiguous
reason reaches the origin (byte for byte: an origin here records the raw
bytes it read), the connection stays in step, and each such request is
logged (combined and JSON access log, error log) and counted
(lengthguard_would_refuse_total); severe requests are refused as in
enforce mode, and enforce mode is unchanged.

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/e2e \\
        -p test_monitor.py -v
"""

import json
import re
import signal

from harness import IO_TIMEOUT, E2ECase, ThreadedOrigin, free_port, write_conf

from test_observability import admin_get


def chunked_te(target, extra=b""):
    return (b"POST %s HTTP/1.1\r\nHost: test\r\n%s"
            b"Transfer-Encoding: chunked\r\n\r\n" % (target, extra))


# a chunked body with an extension, chunks of several sizes and a trailer
CHUNKED_BODY = (b"5;ext=1\r\nhello\r\n1a\r\n" + b"x" * 26 + b"\r\n"
                b"1\r\n!\r\n0\r\nTrailer-A: 1\r\n\r\n")


class RawOrigin(ThreadedOrigin):
    """A loopback origin that records every request as the raw bytes it
    read: (conn, head, body), head with its empty line, body as it came
    (a chunked one with its chunk sizes, extensions and trailer: read by a
    chunked parser of its own, to know where it ends, not decoded). It
    answers 200 with "seen TARGET" and closes after a request that said
    Connection: close."""

    def __init__(self):
        self.seen = []
        super().__init__()

    def _serve(self, s, conn):
        s.settimeout(IO_TIMEOUT)
        rd = _Reader(s)
        try:
            while not self.stopping:
                head = rd.until(b"\r\n\r\n")
                if head is None:
                    return
                te = re.search(rb"(?im)^transfer-encoding:[ \t]*(.*?)[ \t]*\r$",
                               head)
                cl = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
                if te and te.group(1).lower().endswith(b"chunked"):
                    body = rd.chunked()
                else:
                    body = rd.exactly(int(cl.group(1)) if cl else 0)
                if body is None:
                    return
                with self.cond:
                    self.seen.append((conn, head, body))
                    self.cond.notify_all()
                target = head.split(b" ")[1]
                text = b"seen " + target
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                          % (len(text), text))
                if re.search(rb"(?im)^connection:[ \t]*close", head):
                    return
        except OSError:
            pass
        finally:
            s.close()




class _Reader:
    """Buffered reads from a socket; None when it ends first."""

    def __init__(self, s):
        self.s = s
        self.buf = b""

    def _more(self):
        data = self.s.recv(65536)
        if not data:
            return False
        self.buf += data
        return len(self.buf) < (1 << 22)

    def until(self, mark):
        while mark not in self.buf:
            if not self._more():
                return None
        i = self.buf.index(mark) + len(mark)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exactly(self, n):
        while len(self.buf) < n:
            if not self._more():
                return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def chunked(self):
        """One chunked body, raw (RFC 9112 §7.1)."""
        out = b""
        for _ in range(10000):
            line = self.until(b"\r\n")
            if line is None:
                return None
            out += line
            size = int(line.split(b";")[0], 16)
            if size == 0:
                for _ in range(100):
                    t = self.until(b"\r\n")
                    if t is None:
                        return None
                    out += t
                    if t == b"\r\n":
                        return out
                return None
            data = self.exactly(size + 2)
            if data is None:
                return None
            out += data
        return None


def metric(text, name, reason):
    m = re.search(r'(?m)^%s\{reason="%s"\} (\d+)$' % (re.escape(name),
                                                        re.escape(reason)),
                  text)
    return int(m.group(1)) if m else None


class MonitorCase(E2ECase):
    """A RawOrigin, and a proxy in front of it with `policy` and an admin
    listener."""

    policy = {"mode": "monitor"}
    proxy_extra = None
    log_format = "combined"

    def setUp(self):
        super().setUp()
        self.origin = RawOrigin()
        self.addCleanup(self.origin.stop)
        self.admin_port = free_port()
        over = {"policy": dict(self.policy),
                "admin": {"listen": "127.0.0.1:%d" % self.admin_port},
                "log": {"format": self.log_format}}
        if self.proxy_extra:
            over["proxy"] = dict(self.proxy_extra)
        self.proxy = self.start_proxy(self.origin.port, over)
        self.proxy.wait_line(r"admin listener on")

    def scrape(self):
        status, _, body = admin_get(self.admin_port, "/metrics")
        self.assertEqual(status, 200)
        return body.decode()

    def log_line(self, pattern, since=0):
        m = self.proxy.wait_line(pattern, timeout=5.0, since=since)
        self.assertIsNotNone(m, "no log line matching %r" % pattern)
        return m.string

    def chunked_in_step(self):
        """A chunked POST, and a GET pipelined right behind its body: the
        POST reaches the origin chunked, byte for byte, on an upstream
        connection closed after it; the GET is answered after it, on the
        same client connection."""
        c = self.client(self.proxy.port)
        c.send(chunked_te(b"/up", b"Expect: 100-continue\r\n") +
               CHUNKED_BODY + b"GET /next HTTP/1.1\r\nHost: test\r\n\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"seen /up"), r)
        # Expect: 100-continue is answered by lengthguard, not forwarded
        self.assertEqual([i.status for i in r.interim], [100], r)
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"seen /next"), r)
        seen = self.origin.wait_seen(2)
        self.assertEqual(len(seen), 2, seen)
        (c1, head, body), (c2, head2, body2) = seen
        self.assertEqual(body, CHUNKED_BODY)
        self.assertTrue(head.startswith(
            b"POST /up HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n"), head)
        self.assertNotIn(b"content-length", head.lower())
        self.assertNotIn(b"expect", head.lower())
        self.assertTrue(head2.startswith(b"GET /next HTTP/1.1\r\n"), head2)
        self.assertEqual(body2, b"")
        self.assertNotEqual(c1, c2, "the upstream connection was reused")
        line = self.log_line(r'"POST /up HTTP/1\.1" 200 ')
        self.assertIn('verdict="would_refuse: chunked request body" '
                      'class=compliant', line)
        line = self.log_line(r'"GET /next HTTP/1\.1" 200 ')
        self.assertIn('verdict="forwarded"', line)


class MonitorTest(MonitorCase):

    def test_chunked_forwarded_as_sent_in_step(self):
        """request_buffering on (the default): received whole, then sent
        with its chunked framing."""
        self.chunked_in_step()
        self.log_line(r"info: request would be refused: 411 chunked_body "
                      r"client=127\.0\.0\.1 request=\"POST /up HTTP/1\.1\".*"
                      r"\(forwarded: 200\)")

    def test_post_without_length(self):
        """RFC 9112 §6.3 rule 7: a body of length 0, sent with
        Content-Length: 0 (the exact head), the next request in step."""
        c = self.client(self.proxy.port)
        c.send(b"POST /nolen HTTP/1.1\r\nHost: test\r\n\r\n"
               b"GET /after HTTP/1.1\r\nHost: test\r\n\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"seen /nolen"), r)
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"seen /after"), r)
        seen = self.origin.wait_seen(2)
        self.assertEqual(seen[0][1:], (
            b"POST /nolen HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n"
            b"Connection: close\r\nVia: 1.1 lengthguard\r\n"
            b"X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n",
            b""))
        line = self.log_line(r'"POST /nolen HTTP/1\.1" 200 ')
        self.assertIn('verdict="would_refuse: no Content-Length"', line)

    def test_body_on_get_forwarded(self):
        """An ambiguous reason monitor mode forwards (unexpected_body)."""
        c = self.client(self.proxy.port)
        c.send(b"GET /gb HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n\r\n"
               b"abcdGET /gb2 HTTP/1.1\r\nHost: test\r\n\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"seen /gb"), r)
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"seen /gb2"), r)
        seen = self.origin.wait_seen(2)
        self.assertEqual(seen[0][2], b"abcd")
        self.assertIn(b"\r\nContent-Length: 4\r\nConnection: close\r\n",
                      seen[0][1])
        line = self.log_line(r'"GET /gb HTTP/1\.1" 200 ')
        self.assertIn('verdict="would_refuse: body with GET, HEAD, OPTIONS, '
                      'TRACE or DELETE" class=ambiguous', line)

    def test_severe_refused(self):
        """CL + TE and two Content-Lengths: 400 and close, in monitor mode
        too; nothing reaches the origin."""
        for raw in (b"POST /clte HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    b"POST /clcl HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n"
                    b"Content-Length: 3\r\n\r\nabc"):
            with self.subTest(raw=raw[:12]):
                c = self.client(self.proxy.port)
                c.send(raw)
                r = c.read_response()
                self.assertEqual(r.status, 400, r)
                self.assertTrue(r.has_token("connection", "close"), r)
                self.assertEqual(c.read_until_eof(), b"")
        self.log_line(r'"POST /clcl HTTP/1\.1" 400 .*'
                      r'verdict="more than one Content-Length" class=severe')
        self.assertEqual(self.origin.wait_seen(1, timeout=0.5), [])
        self.assertEqual(self.origin.connections, 0)

    def test_limits_enforced(self):
        """413 in monitor mode too: limits protect lengthguard itself."""
        c = self.client(self.proxy.port)
        c.send(b"POST /big HTTP/1.1\r\nHost: test\r\n"
               b"Content-Length: 999999999999\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 413, r)
        self.assertEqual(self.origin.connections, 0)

    def test_metrics_count_by_reason(self):
        before = self.scrape()
        self.assertEqual(metric(before, "lengthguard_would_refuse_total",
                                "chunked_body"), 0)
        self.chunked_in_step()
        c = self.client(self.proxy.port)
        for t in (b"/n1", b"/n2"):
            c.send(b"POST %s HTTP/1.1\r\nHost: test\r\n\r\n" % t)
            self.assertEqual(c.read_response().status, 200)
        self.origin.wait_seen(4)
        self.log_line(r'"POST /n2 HTTP/1\.1" 200 ')
        text = self.scrape()
        self.assertEqual(metric(text, "lengthguard_would_refuse_total",
                                "chunked_body"), 1)
        self.assertEqual(metric(text, "lengthguard_would_refuse_total",
                                "no_content_length"), 2)
        self.assertEqual(metric(text, "lengthguard_would_refuse_total",
                                "unexpected_body"), 0)
        # forwarded: no refusal counted
        self.assertEqual(metric(text, "lengthguard_refusals_total",
                                "chunked_body"), 0)
        self.assertEqual(metric(text, "lengthguard_refusals_total",
                                "no_content_length"), 0)
        # only the reasons monitor mode may forward are labels
        self.assertIsNone(metric(text, "lengthguard_would_refuse_total",
                                 "content_length_with_transfer_encoding"))


    def test_switch_to_enforce_on_reload(self):
        """The way in: monitor, then enforce with a reload; a connection
        takes the new mode at its next request. (The main thread hands the
        new configuration to the worker before it logs the reload.)"""
        self.log_line(r"warn: \[policy\] mode = monitor: requests enforce "
                      r"mode would refuse")
        c = self.client(self.proxy.port)
        c.send(chunked_te(b"/before") + b"0\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        mark = self.proxy.log.mark()
        self.proxy.settings["policy"]["mode"] = "enforce"
        write_conf(self.proxy.conf, self.proxy.settings)
        self.proxy.send_signal(signal.SIGHUP)
        self.log_line(r"configuration reloaded from", since=mark)
        self.log_line(r"info: \[policy\] mode = enforce", since=mark)
        c.send(chunked_te(b"/after") + b"0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 411, r)
        self.assertEqual([s[1].split(b" ")[1] for s in
                          self.origin.wait_seen(1)], [b"/before"])


class MonitorStreamingTest(MonitorCase):
    """request_buffering off: a chunked body is still received whole (as
    every chunked body lengthguard takes), then sent as received."""

    proxy_extra = {"request_buffering": "off"}

    def test_chunked_forwarded_as_sent_in_step(self):
        self.chunked_in_step()


class MonitorUnderscoreTest(MonitorCase):
    """underscores = reject: in monitor mode the field goes as received."""

    policy = {"mode": "monitor", "underscores": "reject"}

    def test_underscore_forwarded(self):
        c = self.client(self.proxy.port)
        c.send(b"GET /us HTTP/1.1\r\nHost: test\r\nFoo_Bar:  x \r\n\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"seen /us"), r)
        seen = self.origin.wait_seen(1)
        self.assertTrue(seen[0][1].startswith(
            b"GET /us HTTP/1.1\r\nHost: test\r\nFoo_Bar: x\r\n"
            b"Connection: close\r\n"), seen[0][1])
        line = self.log_line(r'"GET /us HTTP/1\.1" 200 ')
        self.assertIn('verdict="would_refuse: underscore in a field name" '
                      'class=acceptable', line)
        self.assertEqual(metric(self.scrape(), "lengthguard_would_refuse_total",
                                "field_name_underscore"), 1)


class MonitorJsonTest(MonitorCase):
    log_format = "json"

    def test_json_line(self):
        c = self.client(self.proxy.port)
        c.send(chunked_te(b"/j") + b"0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        c.send(b"GET /plain HTTP/1.1\r\nHost: test\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        obj = json.loads(self.log_line(r'^\{.*"request":"POST /j HTTP/1\.1"'))
        self.assertEqual((obj["status"], obj["verdict"], obj["reason"],
                          obj["class"], obj["would_refuse"]),
                         (200, "would_refuse: chunked request body",
                          "chunked_body", "compliant", True))
        self.assertEqual(list(obj)[-1], "would_refuse")
        obj = json.loads(self.log_line(r'^\{.*"request":"GET /plain HTTP/1\.1"'))
        self.assertEqual((obj["verdict"], obj["reason"], obj["would_refuse"]),
                         ("forwarded", None, False))


class EnforceUnchangedTest(MonitorCase):
    """mode = enforce (the default, said here): the same requests are
    refused as they always were, nothing reaches the origin."""

    policy = {"mode": "enforce", "underscores": "reject"}

    def test_refused(self):
        for raw, want in (
                (chunked_te(b"/c", b"Connection: close\r\n") + CHUNKED_BODY, 411),
                (b"POST /n HTTP/1.1\r\nHost: test\r\n\r\n", 411),
                (b"GET /us HTTP/1.1\r\nHost: test\r\nFoo_Bar: x\r\n\r\n", 400),
                (b"GET /gb HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\n"
                 b"ab", 400)):
            with self.subTest(want=want, raw=raw[:14]):
                c = self.client(self.proxy.port)
                c.send(raw)
                r = c.read_response()
                self.assertEqual(r.status, want, r)
                c.read_until_eof()
        line = self.log_line(r'"GET /us HTTP/1\.1" 400 ')
        self.assertIn('verdict="underscore in a field name"', line)
        self.assertEqual(self.origin.wait_seen(1, timeout=0.5), [])
        self.assertEqual(self.origin.connections, 0)
        text = self.scrape()
        self.assertEqual(metric(text, "lengthguard_would_refuse_total",
                                "chunked_body"), 0)
        self.assertEqual(metric(text, "lengthguard_refusals_total",
                                "chunked_body"), 1)
        self.assertIsNone(self.proxy.log.wait_for(r"would be refused",
                                                  timeout=0.2))
