"""End-to-end tests of how lengthguard spreads requests over several
upstreams: weights, backups, and passive health (an upstream whose
attempts fail is left out for a while, said once in the log), and the
upstream send timeout.

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/e2e -p test_balance.py -v
"""

import socket
import threading
import time

from harness import E2ECase, Origin, free_port, short


class BalanceCase(E2ECase):
    def origins(self, n):
        out = []
        for _ in range(n):
            o = Origin()
            self.procs.append(o)
            out.append(o.ready())
        return out

    def proxy_with(self, upstreams, timeouts=None):
        first = upstreams[0]
        over = {"proxy": {"upstream": upstreams}}
        if timeouts:
            over["timeouts"] = timeouts
        # start_proxy names one upstream; the list replaces it
        return self.start_proxy(int(first.split(":")[1].split()[0]), over)

    def get_many(self, proxy, n, prefix):
        for i in range(n):
            c = self.client(proxy.port)
            r = c.request("GET", "/%s-%d" % (prefix, i))
            self.assertEqual(r.status, 200, r)
            c.close()

    def settled(self, *origins):
        """Each origin's request lines, once every line it logged before is
        in: a request sent to it directly, waited for, marks the end."""
        for o in origins:
            c = self.client(o.port)
            self.assertEqual(c.request("GET", "/marker").status, 200)
            o.wait_request("/marker")
        return [[q for q in o.requests() if q[1] != "/marker"]
                for o in origins]


class TestWeights(BalanceCase):
    """weight=3 against weight=1: smooth weighted round robin sends exactly
    three of every four requests to the first (one worker)."""

    def test_three_to_one(self):
        a, b = self.origins(2)
        p = self.proxy_with(["127.0.0.1:%d weight=3" % a.port,
                             "127.0.0.1:%d" % b.port])
        self.get_many(p, 40, "w")
        ra, rb = self.settled(a, b)
        self.assertEqual((len(ra), len(rb)), (30, 10))


class TestBackup(BalanceCase):
    """A backup takes requests only while every other upstream is out of
    use."""

    def test_backup_idle_while_primary_lives(self):
        a, b = self.origins(2)
        p = self.proxy_with(["127.0.0.1:%d" % a.port,
                             "127.0.0.1:%d backup" % b.port])
        self.get_many(p, 10, "p")
        ra, rb = self.settled(a, b)
        self.assertEqual((len(ra), len(rb)), (10, 0))

    def test_backup_serves_when_the_primary_is_down(self):
        (b,) = self.origins(1)
        dead = free_port()
        p = self.proxy_with(["127.0.0.1:%d" % dead,
                             "127.0.0.1:%d backup" % b.port])
        self.get_many(p, 5, "b")
        (rb,) = self.settled(b)
        self.assertEqual(len(rb), 5)


class TestPassiveHealth(BalanceCase):
    """A dead upstream among live ones: after max_fails failed attempts it
    is left out for fail_timeout, and the error log says so once, not per
    request."""

    def test_dead_upstream_left_out_and_logged_once(self):
        (live,) = self.origins(1)
        dead = free_port()
        p = self.proxy_with(["127.0.0.1:%d max_fails=1 fail_timeout=30s"
                             % dead, "127.0.0.1:%d" % live.port])
        self.get_many(p, 20, "h")
        (rl,) = self.settled(live)
        self.assertEqual(len(rl), 20)
        lines = [l for l in p.log.lines() if ":%d" % dead in l]
        out = [l for l in lines if "out of use" in l]
        self.assertEqual(len(out), 1, "\n".join(lines))
        tries = [l for l in lines if "connect" in l]
        self.assertLessEqual(len(tries), 1, "the dead upstream was tried "
                             "again while out of use:\n" + "\n".join(lines))


class TestUpstreamSendTimeout(E2ECase):
    """An upstream that accepts a request and never reads it: once its side
    is full, lengthguard waits at most upstream_send, then answers 504 (the
    client is not blamed with a 408)."""

    def test_504_when_the_upstream_stops_reading(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        ls.listen(8)
        self.addCleanup(ls.close)
        held = []

        def accept():
            try:
                s, _ = ls.accept()      # and never read from it
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                held.append(s)
            except OSError:
                pass
        t = threading.Thread(target=accept, daemon=True)
        t.start()
        self.addCleanup(lambda: [s.close() for s in held])
        p = self.start_proxy(ls.getsockname()[1], {"timeouts": {
            "upstream_send": "1s", "client_body": "30s"}})
        c = self.client(p.port, timeout=20)
        size = 64 * 1024 * 1024
        c.send(b"POST /stuck HTTP/1.1\r\nHost: test\r\n"
               b"Content-Length: %d\r\n\r\n" % size)
        chunk = b"x" * 65536
        c.sock.setblocking(False)
        got = b""
        t0 = time.monotonic()
        sent = 0
        while time.monotonic() - t0 < 15 and b"\r\n\r\n" not in got:
            try:
                if sent < size:
                    sent += c.sock.send(chunk)
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                data = c.sock.recv(65536)
                if not data:
                    break
                got += data
            except BlockingIOError:
                time.sleep(0.01)    # both sides full: poll the reply
        self.assertTrue(got.startswith(b"HTTP/1.1 504 "), short(got))
        p.wait_line(r'"POST /stuck HTTP/1\.1" 504 .*verdict="upstream send '
                    r'timeout"')
