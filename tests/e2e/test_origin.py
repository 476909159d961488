"""The demo origin on its own: the proxy tests rely on each of these
behaviours, so they are checked directly first."""

import os
import re
import signal
import time

from harness import HELLO, E2ECase, build_request, origin_reply, fnv1a64


def pattern(n):
    return (b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]


class OriginCase(E2ECase):
    def setUp(self):
        super().setUp()
        self.origin = self.start_origin()

    def conn(self, timeout=10):
        return self.client(self.origin.port, timeout)


class TestOriginBasics(OriginCase):
    def test_get_and_head(self):
        c = self.conn()
        r = c.request("GET", "/")
        self.assertEqual((r.status, r.body), (200, HELLO), r)
        self.assertEqual(r.header("Content-Type"), "text/plain", r)
        r = c.request("HEAD", "/x")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Length"), str(len(HELLO)), r)
        r = c.request("GET", "/after-head")   # HEAD sent no body bytes
        self.assertEqual(r.body, HELLO, r)
        self.origin.wait_request("/after-head")
        self.assertEqual({q[3] for q in self.origin.requests()}, {1})

    def test_fnv1a64_reference(self):
        self.assertEqual(fnv1a64(b""), 0xCBF29CE484222325)
        self.assertEqual(fnv1a64(b"a"), 0xAF63DC4C8601EC8C)

    def test_bodies_hashed(self):
        c = self.conn()
        for method, n in (("POST", 0), ("PUT", 1), ("PATCH", 100000),
                          ("DELETE", 3)):
            body = os.urandom(n)
            r = c.request(method, "/b?x=1", body=body)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, origin_reply(method, "/b?x=1", body), r)
        self.origin.wait_line(r"^origin: DELETE /b\?x=1 len=3 conn=1$")
        self.assertEqual([q[2] for q in self.origin.requests()],
                         [0, 1, 100000, 3])

    def test_pipelined_in_order_and_connection_close(self):
        c = self.conn()
        targets = ["/p%d?size=%d" % (i, i + 1) for i in range(10)]
        c.send(b"".join(build_request("GET", t) for t in targets) +
               build_request("POST", "/last", [("Connection", "close")], b"xyz"))
        for i in range(10):
            r = c.read_response()
            self.assertEqual(r.body, pattern(i + 1), r)
        r = c.read_response("POST")
        self.assertEqual(r.body, origin_reply("POST", "/last", b"xyz"), r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assertEqual(c.read_until_eof(5), b"")
        self.origin.wait_request("/last")
        self.assertEqual([q[1] for q in self.origin.requests()],
                         targets + ["/last"])

    def test_transfer_encoding_is_refused(self):
        c = self.conn()
        c.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
               b"\r\n0\r\n\r\n")
        r = c.read_response("POST")
        self.assertEqual(r.status, 500, r)
        self.assertEqual(c.read_until_eof(5), b"")
        self.origin.wait_line("CHUNKED-SEEN")

    def test_connections_numbered(self):
        for i in range(3):
            c = self.conn()
            c.request("GET", "/n%d" % i)
            c.close()
        self.origin.wait_request("/n2")
        self.assertEqual([q[3] for q in self.origin.requests()], [1, 2, 3])

    def test_sigterm_exits_0(self):
        self.origin.send_signal(signal.SIGTERM)
        self.assertEqual(self.origin.wait(5), 0)


class TestOriginQueries(OriginCase):
    def test_chunked(self):
        c = self.conn()
        r = c.request("GET", "/?chunked=1")
        self.assertEqual((r.framing, r.body), ("chunked", HELLO), r)
        self.assertEqual(len(re.findall(rb"\r\n[1-9a-f][0-9a-f]*\r\n", c.received)), 3)

    def test_size_streamed(self):
        c = self.conn()
        r = c.request("GET", "/?size=3000000")
        self.assertEqual(len(r.body), 3000000)
        self.assertEqual(r.body, pattern(3000000))
        r = c.request("HEAD", "/?size=77")
        self.assertEqual((r.header("Content-Length"), r.body), ("77", b""), r)

    def test_status(self):
        c = self.conn()
        r = c.request("GET", "/?status=204")
        self.assertEqual((r.status, r.body), (204, b""), r)
        self.assertIsNone(r.header("Content-Length"), r)
        r = c.request("GET", "/?status=304")
        self.assertEqual(r.status, 304, r)
        r = c.request("GET", "/?status=404")
        self.assertEqual((r.status, r.body), (404, HELLO), r)
        r = c.request("GET", "/?status=103")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([i.status for i in r.interim], [103], r)

    def test_sleep(self):
        c = self.conn()
        t0 = time.monotonic()
        r = c.request("GET", "/?sleep=300")
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)

    def test_close_head(self):
        c = self.conn()
        c.send(build_request("GET", "/?close=head"))
        self.assertEqual(c.read_until_eof(5), b"")

    def test_close_body(self):
        c = self.conn()
        c.send(build_request("GET", "/?close=body"))
        data = c.read_until_eof(5)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertIn(b"\r\nContent-Length: 1000\r\n", head + b"\r\n", data)
        self.assertEqual(body, pattern(10), data)

    def test_close_delimited(self):
        c = self.conn()
        r = c.request("GET", "/?noclose-delimited=1")
        self.assertEqual((r.framing, r.body), ("close", HELLO), r)
        self.assertIsNone(r.header("Content-Length"), r)

    def test_expect_continue(self):
        c = self.conn()
        c.send(b"PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
               b"Expect: 100-continue\r\n\r\n")
        r = c.read_response(stop_at_interim=True)
        self.assertEqual(r.status, 100, r)
        c.send(b"ok")
        r = c.read_response()
        self.assertEqual(r.body, origin_reply("PUT", "/e", b"ok"), r)
