"""End-to-end tests: the real lengthguard between a raw-socket client and the
real lg-origin, on loopback. One TestCase per behaviour.

    LG_BUILD=/work/main/build python3 -m unittest discover -s tests/e2e -v
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (CONF_DIR, HELLO, IO_TIMEOUT, PAGES_DIR, E2ECase, ProxyCase,
                     build_request, free_port, origin_reply, run_proxy_cmd,
                     short, write_conf)

MIB = 1024 * 1024


def pattern(n):
    """The body lg-origin sends for ?size=n."""
    return (b"abcdefghijklmnopqrstuvwxyz" * (n // 26 + 1))[:n]


# 1
class TestChunkedPost411(ProxyCase):
    def test_chunked_post_gets_411_then_close(self):
        c = self.client(self.proxy.port)
        # Connection: close, or the small body would be discarded and the
        # connection kept (test_buffering.Discard411Test)
        c.send(b"POST /upload HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertIn(b"<h1>411 Length Required</h1>", r.body, r)
        self.assertIn("text/html", r.header("Content-Type") or "", r)
        self.assertTrue(r.has_token("Connection", "close"), r)
        self.assert_closed(c, "after the 411")
        self.assert_origin_untouched()


# 2
class TestMissingLength411(ProxyCase):
    def test_post_without_length_html(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /form HTTP/1.1\r\nHost: test\r\n\r\n")
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertIn(b"<h1>411 Length Required</h1>", r.body, r)
        self.assert_closed(c, "after the 411")
        self.assert_origin_untouched()

    def test_post_without_length_json(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /api HTTP/1.1\r\nHost: test\r\n"
               b"Accept: application/json\r\n\r\n")
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        ctype = (r.header("Content-Type") or "").split(";")[0].strip()
        self.assertEqual(ctype, "application/problem+json", r)
        try:
            doc = json.loads(r.body)
        except ValueError as e:
            self.fail("body is not JSON (%s): %s" % (e, short(r.body)))
        self.assertEqual(doc.get("status"), 411, doc)
        self.assert_origin_untouched()


# 3
class TestContentLengthBodies(ProxyCase):
    def test_bodies_arrive_intact(self):
        for n in (0, 1, 65536, 10 * MIB):
            with self.subTest(length=n):
                body = os.urandom(n)
                target = "/upload-%d" % n
                c = self.client(self.proxy.port, timeout=20)
                c.send(build_request("POST", target, body=body))
                r = c.read_response("POST")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, origin_reply("POST", target, body), r)
                m = self.origin.wait_request(target)
                self.assertIn("len=%d " % n, m.string)
        self.assertFalse(self.origin.chunked_seen())


# 4
class TestKeepAliveReuse(ProxyCase):
    def test_1000_sequential_gets_reuse_upstream(self):
        c = self.client(self.proxy.port)
        for i in range(1000):
            r = c.request("GET", "/ka/%d" % i)
            if r.status != 200 or r.body != HELLO:
                self.fail("request %d: %r" % (i, r))
        self.origin.wait_request("/ka/999")
        conns = {q[3] for q in self.origin.requests() if q[1].startswith("/ka/")}
        n = len([q for q in self.origin.requests() if q[1].startswith("/ka/")])
        self.assertEqual(n, 1000, "the origin saw %d requests" % n)
        self.assertLessEqual(len(conns), 3,
                             "upstream connections used: %s" % sorted(conns))


# 5
class TestPipelining(ProxyCase):
    def test_10_pipelined_gets_in_order(self):
        targets = ["/p%d?size=%d" % (i, i + 1) for i in range(10)]
        c = self.client(self.proxy.port)
        c.send(b"".join(build_request("GET", t) for t in targets))
        for i, t in enumerate(targets):
            r = c.read_response("GET")
            self.assertEqual(r.status, 200, "response %d: %r" % (i, r))
            self.assertEqual(r.body, pattern(i + 1),
                             "response %d is not %s's: %r" % (i, t, r))
        self.origin.wait_request(targets[-1])
        seen = [q[1] for q in self.origin.requests()]
        self.assertEqual(seen, targets, "origin order")


# 6
class TestAmbiguousFraming400(ProxyCase):
    CASES = [
        ("CL+TE", b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("two CL", b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
                   b"Content-Length: 5\r\n\r\nhello"),
        ("CL list", b"POST / HTTP/1.1\r\nHost: test\r\n"
                    b"Content-Length: 5, 5\r\n\r\nhello"),
        ("CL with sign", b"POST / HTTP/1.1\r\nHost: test\r\n"
                         b"Content-Length: +5\r\n\r\nhello"),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: test\r\nX-Folded: a\r\n"
                     b" b\r\n\r\n"),
        ("obs-fold of TE", b"POST / HTTP/1.1\r\nHost: test\r\n"
                           b"Transfer-Encoding: identity\r\n chunked\r\n\r\n"
                           b"0\r\n\r\n"),
        ("TE on HTTP/1.0", b"POST / HTTP/1.0\r\nHost: test\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("bare LF line end", b"GET / HTTP/1.1\r\nHost: test\nX-A: b\r\n\r\n"),
        ("bare LF only", b"GET / HTTP/1.1\nHost: test\n\n"),
        ("no Host in 1.1", b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"),
        ("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ]

    def test_each_gets_400_and_close(self):
        previous = None
        deaths = []
        for name, raw in self.CASES:
            with self.subTest(case=name):
                if not self.proxy.alive():
                    # report it, and go on with a new proxy to learn the rest
                    deaths.append("the proxy died (status %s) after case %r"
                                  % (self.proxy.proc.returncode, previous))
                    self.proxy = self.start_proxy(self.origin.port)
                previous = name
                c = self.client(self.proxy.port)
                c.send(raw)
                r = c.read_response()
                self.assertEqual(r.status, 400, "%s: %r" % (name, r))
                self.assert_closed(c, name)
        if not self.proxy.alive():
            deaths.append("the proxy died (status %s) after case %r"
                          % (self.proxy.proc.returncode, previous))
            self.proxy = self.start_proxy(self.origin.port)
        self.assert_origin_untouched()
        self.assertEqual(deaths, [], "the proxy crashed")


# 7
class TestLimits(ProxyCase):
    overrides = {"limits": {"max_header_size": "1k",
                            "max_request_line": "512",
                            "max_body_size": "1m"}}

    def test_head_over_limit_431(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/", headers=[("X-Big", "x" * 2000)]))
        r = c.read_response()
        self.assertEqual(r.status, 431, r)
        self.assert_closed(c, "after the 431")
        self.assert_origin_untouched()

    def test_content_length_over_limit_413_before_body(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /big HTTP/1.1\r\nHost: test\r\n"
               b"Content-Length: 1048577\r\n\r\n")     # the head only
        r = c.read_response("POST", timeout=5)
        self.assertEqual(r.status, 413, r)
        self.assert_origin_untouched()

    def test_content_length_at_limit_passes(self):
        body = os.urandom(MIB)
        c = self.client(self.proxy.port)
        r = c.request("POST", "/exact", body=body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, origin_reply("POST", "/exact", body), r)


# 8
class TestOriginDown502(E2ECase):
    def test_nothing_listening_upstream(self):
        proxy = self.start_proxy(free_port())
        c = self.client(proxy.port)
        r = c.request("GET", "/")
        self.assertEqual(r.status, 502, r)


class TestOriginSlow504(ProxyCase):
    overrides = {"timeouts": {"upstream_response": "500ms"}}

    def test_slow_origin_times_out(self):
        c = self.client(self.proxy.port)
        t0 = time.monotonic()
        r = c.request("GET", "/slow?sleep=3000")
        took = time.monotonic() - t0
        self.assertEqual(r.status, 504, r)
        self.assertLess(took, 2.0, "504 after %.2f s" % took)


class TestOriginCutsBody(ProxyCase):
    def test_partial_body_then_close(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/cut?close=body"))
        try:
            data = c.read_until_eof(5.0)
        except AssertionError as e:
            self.fail("the proxy kept the client connection open: %s" % e)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 "), short(data))
        lines = re.findall(rb"HTTP/1\.[01] \d{3}", data)
        self.assertEqual(len(lines), 1, "status lines: %s" % short(data))
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertLessEqual(len(body), 10, short(data))
        self.assertEqual(body, pattern(len(body)), short(data))


# 9
class TestClientHeaderTimeout408(ProxyCase):
    overrides = {"timeouts": {"client_header": "500ms"}}

    def test_half_head_then_stall(self):
        c = self.client(self.proxy.port)
        t0 = time.monotonic()
        c.send(b"GET /stall HTTP/1.1\r\nHost: te")
        r = c.read_response(timeout=5)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 408, r)
        self.assertLess(took, 3.0, "408 after %.2f s" % took)
        self.assert_closed(c, "after the 408")
        self.assert_origin_untouched()

    def test_silent_connection_closed(self):
        """A client that connects and sends nothing: the listener defers
        accepting until bytes come (TCP_DEFER_ACCEPT, worker.c), for a
        second at most; then the head timeout closes it, quietly."""
        c = self.client(self.proxy.port)
        t0 = time.monotonic()
        self.assertEqual(c.read_until_eof(8.0), b"")
        took = time.monotonic() - t0
        self.assertLess(took, 5.0, "closed after %.2f s" % took)


# 10
class TestReloadPages(E2ECase):
    def test_sighup_picks_up_changed_page(self):
        pages = os.path.join(self.tmpdir, "pages")
        shutil.copytree(PAGES_DIR, pages)
        origin = self.start_origin()
        proxy = self.start_proxy(origin.port, {"pages": {"dir": pages}})
        chunked = (b"POST / HTTP/1.1\r\nHost: test\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")

        c = self.client(proxy.port)
        c.send(chunked)
        r = c.read_response("POST")
        self.assertIn(b"<h1>411 Length Required</h1>", r.body, r)

        path = os.path.join(pages, "411.md")
        with open(path) as f:
            text = f.read()
        new = re.sub(r"(?m)^title: .*$", "title: Length Really Required", text, 1)
        self.assertNotEqual(new, text, "411.md has no title line")
        with open(path, "w") as f:
            f.write(new)

        mark = proxy.log.mark()
        proxy.send_signal(signal.SIGHUP)
        proxy.wait_line(r"reloaded", since=mark)

        c = self.client(proxy.port)
        c.send(chunked)
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        self.assertIn(b"<h1>411 Length Really Required</h1>", r.body, r)


# 11
class TestGracefulStop(ProxyCase):
    # bodies streamed: the upload is upstream when the stop comes
    overrides = {"proxy": {"request_buffering": "off"},
                 "timeouts": {"shutdown": "10s"}}

    def test_sigterm_during_upload(self):
        body = os.urandom(MIB)
        half = len(body) // 2
        c = self.client(self.proxy.port)
        c.send(b"POST /upload-term HTTP/1.1\r\nHost: test\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body) + body[:half])
        self.origin.wait_request("/upload-term")   # the request is in flight
        mark = self.proxy.log.mark()
        self.proxy.send_signal(signal.SIGTERM)
        self.proxy.wait_line(r"(?i)stopping|shutting down", since=mark,
                             timeout=5)
        c.send(body[half:])
        r = c.read_response("POST")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, origin_reply("POST", "/upload-term", body), r)
        status = self.proxy.wait(10)
        self.assertEqual(status, 0, "proxy exit status after SIGTERM "
                         "(None: still running after 10 s)")


# 12
class TestExpectContinue(ProxyCase):
    def test_100_continue_then_200(self):
        body = b"hello"
        c = self.client(self.proxy.port)
        c.send(b"POST /expect HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
               b"Expect: 100-continue\r\n\r\n")
        r = c.read_response("POST", stop_at_interim=True, timeout=5)
        self.assertEqual(r.status, 100, r)
        self.assertTrue(r.raw_head.startswith(b"HTTP/1.1 100 Continue\r\n"), r)
        c.send(body)
        r = c.read_response("POST")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.interim, [], "a second 1xx: %r" % r.interim)
        self.assertEqual(r.body, origin_reply("POST", "/expect", body), r)

    def test_chunked_with_expect_gets_411_at_once(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /expect HTTP/1.1\r\nHost: test\r\n"
               b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        r = c.read_response("POST", stop_at_interim=True, timeout=5)
        self.assertEqual(r.status, 411, r)
        self.assert_closed(c, "after the 411")
        self.assert_origin_untouched()


# 13
class TestLoadWrk(ProxyCase):
    overrides = {"proxy": {"workers": "2"}, "log": {"access": "off"}}

    def test_wrk_5s_100_connections(self):
        wrk = shutil.which("wrk")
        if wrk is None:
            self.skipTest("wrk is not installed (apt-get install wrk)")
        p = subprocess.run([wrk, "-t2", "-c100", "-d5s", "--timeout", "5s",
                            "http://127.0.0.1:%d/" % self.proxy.port],
                           capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out + err)
        m = re.search(r"(\d+) requests in", out)
        self.assertIsNotNone(m, out + err)
        self.assertGreater(int(m.group(1)), 0, out)
        self.assertNotIn("Socket errors", out, out)
        self.assertNotIn("Non-2xx", out, out)


# 14
class TestCommandLine(unittest.TestCase):
    def test_check_shipped_conf(self):
        rc, out, err = run_proxy_cmd(
            ["-t", "-c", os.path.join(CONF_DIR, "lengthguard.conf")])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("test is successful", err, out + err)

    def test_check_unknown_key(self):
        with tempfile.TemporaryDirectory(prefix="lg-e2e-") as d:
            path = os.path.join(d, "bad.conf")
            write_conf(path, {"proxy": {"listen": "127.0.0.1:%d" % free_port(),
                                        "upstream": "127.0.0.1:8081",
                                        "no_such_key": "1"},
                              "pages": {"dir": PAGES_DIR}})
            rc, out, err = run_proxy_cmd(["-t", "-c", path])
        self.assertEqual(rc, 1, out + err)
        # [proxy] is line 1: the bad key is on line 4
        self.assertRegex(err, re.escape(path) + r":4: ", out + err)
        self.assertNotIn("test is successful", out + err)

    def test_version(self):
        rc, out, err = run_proxy_cmd(["-V"])
        self.assertEqual(rc, 0, out + err)
        self.assertRegex(out, r"\d+\.\d+", out + err)


if __name__ == "__main__":
    unittest.main()


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


# Backpressure: a client that stops reading never makes lengthguard hold the
# response. The origin streams 512 MiB as fast as it can; the client reads
# 1 MiB, then reads nothing while the proxy's memory is sampled (each sample
# waits on the proxy's own progress, not on a sleep), then reads the rest.
class TestSlowReaderBackpressure(ProxyCase):
    SIZE = 512 * MIB

    def test_slow_reader_download(self):
        pid = self.proxy.pid
        base = vm_rss_kib(pid)
        c = self.client(self.proxy.port, timeout=30)
        c.send(build_request("GET", "/big?size=%d" % self.SIZE))
        c.sock.settimeout(30)
        got = 0
        while got < MIB:
            data = c.sock.recv(65536)
            self.assertTrue(data, "EOF early")
            got += len(data)
        # stalled reader: sample until the proxy's memory stops moving
        # (three equal samples) or 3 s pass; it must stay small meanwhile
        peak, last, same = base, -1, 0
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and same < 3:
            rss = vm_rss_kib(pid)
            peak = max(peak, rss)
            same = same + 1 if rss == last else 0
            last = rss
            os.sched_yield()
            time.sleep(0.05)    # sampling interval, not synchronisation
        self.assertLess(peak - base, 32 * 1024,
                        "RSS grew by %d KiB while the client did not read"
                        % (peak - base))
        # now read everything: the whole response arrives
        c.sock.settimeout(60)
        while True:
            data = c.sock.recv(1 << 20)
            if not data:
                break
            got += len(data)
            if got >= self.SIZE:
                break
        self.assertGreaterEqual(got, self.SIZE, "short response")


def wait_file_contains(path, text, timeout=5.0):
    """Poll a log file until it holds `text` (bounded; condition, not time)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                if text in f.read():
                    return
        except FileNotFoundError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("%s never appeared in %s" % (text, path))
        time.sleep(0.02)


# workers = 2: each worker has its own SO_REUSEPORT listener; both serve.
class TestTwoWorkers(ProxyCase):
    overrides = {"proxy": {"workers": "2"}}

    def test_two_workers_serve_new_connections(self):
        self.proxy.wait_line(r"\(2 workers\)")
        for i in range(40):
            c = self.client(self.proxy.port)
            r = c.request("GET", "/w%d" % i)
            self.assertEqual(r.status, 200, r)
            c.close()


# SIGUSR1 reopens the access log file (for rotation).
class TestLogReopen(E2ECase):
    def test_sigusr1_reopens_access_log(self):
        log = os.path.join(self.tmpdir, "access.log")
        origin = self.start_origin()
        proxy = self.start_proxy(origin.port, {"log": {"access": log}})
        c = self.client(proxy.port)
        self.assertEqual(c.request("GET", "/before").status, 200)
        wait_file_contains(log, '"GET /before HTTP/1.1" 200')
        os.rename(log, log + ".1")
        mark = proxy.log.mark()
        proxy.send_signal(signal.SIGUSR1)
        proxy.wait_line(r"log files reopened", since=mark)
        self.assertEqual(c.request("GET", "/after").status, 200)
        wait_file_contains(log, '"GET /after HTTP/1.1" 200')
        with open(log + ".1") as f:
            self.assertNotIn("/after", f.read())


# max_connections: at the limit the listener pauses; a waiting client is
# served as soon as a connection ends.
class TestMaxConnections(ProxyCase):
    overrides = {"proxy": {"max_connections": "2"}}

    def test_accept_pauses_then_resumes(self):
        c1 = self.client(self.proxy.port)
        c2 = self.client(self.proxy.port)
        self.assertEqual(c1.request("GET", "/one").status, 200)
        self.assertEqual(c2.request("GET", "/two").status, 200)
        c3 = self.client(self.proxy.port)     # queued in the backlog
        c3.send(build_request("GET", "/three"))
        c3.sock.settimeout(0.5)
        with self.assertRaises(socket.timeout, msg="served above the limit"):
            c3.sock.recv(1)
        c1.close()
        c3.sock.settimeout(IO_TIMEOUT)
        r = c3.read_response()
        self.assertEqual(r.status, 200, r)


# Retry: a connect that fails reaches nothing upstream, so the request goes
# to the next upstream, body included, and nothing of it is lost.
class TestRetryNextUpstream(E2ECase):
    def test_dead_upstream_then_live_one(self):
        origin = self.start_origin()
        dead = free_port()
        proxy = self.start_proxy(origin.port, {"proxy": {"upstream": [
            "127.0.0.1:%d" % dead, "127.0.0.1:%d" % origin.port]}})
        for i in range(6):      # round robin starts on each upstream
            body = os.urandom(100000 + i)
            target = "/retry-%d" % i
            c = self.client(proxy.port)
            c.send(build_request("POST", target, body=body))
            r = c.read_response("POST")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, origin_reply("POST", target, body), r)
            c.close()


# SIGHUP with a broken conf: the error is logged and the old conf serves on.
class TestReloadBrokenConf(ProxyCase):
    def test_broken_conf_keeps_the_running_one(self):
        with open(self.proxy.conf, "a") as f:
            f.write("\n[proxy]\nno_such_key = 1\n")
        mark = self.proxy.log.mark()
        self.proxy.send_signal(signal.SIGHUP)
        self.proxy.wait_line(r"reload failed", since=mark)
        self.proxy.wait_line(r"no_such_key", since=mark)
        c = self.client(self.proxy.port)
        r = c.request("GET", "/still-served")
        self.assertEqual(r.status, 200, r)


# The origin closes before any response byte: 502, and the page says so.
class TestOriginClosesBeforeHead(ProxyCase):
    def test_close_before_head_is_502(self):
        c = self.client(self.proxy.port)
        c.send(build_request("GET", "/x?close=head"))
        r = c.read_response()
        self.assertEqual(r.status, 502, r)
        self.assertIn(b"<h1>502 Bad Gateway</h1>", r.body, r)
        self.assert_closed(c, "502")


# Idle timeouts: a keep-alive connection with nothing to do is closed, and a
# body that stops arriving gets 408 and a close.
class TestIdleTimeouts(ProxyCase):
    overrides = {"timeouts": {"keepalive": "300ms", "client_body": "300ms"}}

    def test_keepalive_idle_close(self):
        c = self.client(self.proxy.port)
        self.assertEqual(c.request("GET", "/a").status, 200)
        self.assertEqual(c.read_until_eof(5.0), b"")

    def test_body_stalls_408(self):
        c = self.client(self.proxy.port)
        c.send(b"POST /slow HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n"
               + b"x" * 10)
        r = c.read_response("POST")
        self.assertEqual(r.status, 408, r)


# upstream_keepalive: an idle pooled upstream connection is closed by
# lengthguard before the upstream would close it; the next request opens a
# new one and is served.
class TestUpstreamKeepalive(ProxyCase):
    overrides = {"timeouts": {"upstream_keepalive": "200ms"}}

    def test_pooled_connection_expires(self):
        c = self.client(self.proxy.port)
        self.assertEqual(c.request("GET", "/first").status, 200)
        self.origin.wait_line(r"origin: close conn=1\b", timeout=5.0)
        self.assertEqual(c.request("GET", "/second").status, 200)
        self.origin.wait_line(r"origin: GET /second .*conn=2\b", timeout=5.0)


# The timers stay pending across requests and re-arm for the rest of their
# time when they fire early (client.c, pool.c): a keep-alive connection,
# client's or upstream's, idle for less than its timeout since its last
# request is kept, however long ago its timer was first armed; idle for
# longer, it is closed. Requests 1 s apart, timeouts of 1.5 s: the timer
# armed at the first request fires between the second and the third.
class TestTimersCountFromLastUse(ProxyCase):
    overrides = {"timeouts": {"keepalive": "1500ms",
                              "upstream_keepalive": "1500ms"}}

    def test_kept_while_used_then_closed(self):
        c = self.client(self.proxy.port)
        for i in range(3):
            if i:
                time.sleep(1.0)     # the idle time under test
            self.assertEqual(c.request("GET", "/%d" % i).status, 200,
                             "request %d, 1 s after the one before" % i)
            self.origin.wait_line(r"origin: GET /%d .*conn=1\b" % i,
                                  timeout=5.0)
        self.assertEqual(c.read_until_eof(5.0), b"")
        self.origin.wait_line(r"origin: close conn=1\b", timeout=5.0)


# request_buffering = off: after a streamed body larger than one read, the
# client's connection reads 64 KiB at a time (request.c); what follows on
# it, pipelined requests large and small, is framed as ever: each body
# reaches the origin whole and each response answers its own request.
class TestLargeReadsThenPipelined(ProxyCase):
    overrides = {"proxy": {"request_buffering": "off"}}

    def test_bodies_whole_responses_in_order(self):
        big = os.urandom(200 * 1024)
        c = self.client(self.proxy.port)
        c.send(build_request("POST", "/big", body=big))
        r = c.read_response("POST")
        self.assertEqual(r.body, origin_reply("POST", "/big", big), r)
        reqs = [("POST", "/mid", os.urandom(70 * 1024)), ("GET", "/get", b""),
                ("POST", "/small", b"tail"),
                ("POST", "/big2", os.urandom(130 * 1024))]
        c.send(b"".join(build_request(m, t, body=b if m == "POST" else None)
                        for m, t, b in reqs))
        for m, t, b in reqs:
            r = c.read_response(m)
            want = HELLO if m == "GET" else origin_reply(m, t, b)
            self.assertEqual((r.status, r.body), (200, want),
                             "%s %s: %r" % (m, t, r))


# A client that pipelines requests and never reads: lengthguard stops
# answering (and reading) once its output to that client is full, instead
# of queueing every answer in memory.
class TestPipelineWithoutReading(ProxyCase):
    def test_output_bounded(self):
        import threading
        pid = self.proxy.pid
        base = vm_rss_kib(pid)
        c = self.client(self.proxy.port, timeout=30)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        one = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"

        def flood():
            try:
                for _ in range(100):
                    c.sock.sendall(one * 3000)
            except OSError:
                pass        # the test closed the socket
        t = threading.Thread(target=flood, daemon=True)
        t.start()
        peak, deadline = base, time.monotonic() + 3.0
        while time.monotonic() < deadline:
            peak = max(peak, vm_rss_kib(pid))
            time.sleep(0.05)    # sampling interval, not synchronisation
        c.sock.shutdown(socket.SHUT_RDWR)   # ends the blocked sendall
        t.join(10)
        c.close()
        self.assertLess(peak - base, 6 * 1024,
                        "RSS grew by %d KiB for a client that never reads"
                        % (peak - base))
        # and the proxy still serves others
        d = self.client(self.proxy.port)
        self.assertEqual(d.request("GET", "/after").status, 200)
