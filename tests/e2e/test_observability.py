"""End-to-end tests of what lengthguard tells about what it decides: the
admin listener (/metrics, /healthz, /status), the access log's formats and
class=, the error log's lines about requests.

/metrics is parsed with Debian's python3-prometheus-client text parser and
checked with promtool (package prometheus); ./dev installs both. Without
them those checks are skipped, saying so.

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/e2e -p test_observability.py -v
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (E2ECase, PAGES_DIR, RUN_AS, ScriptedOrigin, build_request,
                     free_port, http_response, run_proxy_cmd, write_conf)

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # a python3 other than Debian's (pyenv, a venv) does not see Debian's
    # modules: python3-prometheus-client's is pure Python, use it
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:         # python3-prometheus-client not installed
        text_string_to_metric_families = None
    finally:
        sys.path.remove("/usr/lib/python3/dist-packages")

PROMTOOL = shutil.which("promtool")

CL_TE = (b"POST /clte HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n")
BARE_LF = b"GET /barelf HTTP/1.1\r\nHost: t\r\nX-A: a\nX-B: b\r\n\r\n"
CHUNKED = (b"POST /chunked HTTP/1.1\r\nHost: t\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n")


def admin_get(port, path, method="GET", timeout=5.0):
    """One request to the admin listener: (status, headers dict, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("%s %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n"
                   % (method, path)).encode())
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def samples(text):
    """{(name, frozenset(labels)): value} from the Prometheus text, parsed
    by prometheus_client's own parser."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(smp, name, **labels):
    return smp.get((name, frozenset(labels.items())))


class AdminCase(E2ECase):
    """An origin, and a proxy with an admin listener."""

    log_format = "combined"
    level = "info"

    def setUp(self):
        super().setUp()
        self.origin = self.start_origin()
        self.admin_port = free_port()
        self.overrides = {
            "admin": {"listen": "127.0.0.1:%d" % self.admin_port},
            "log": {"format": self.log_format, "level": self.level},
        }
        self.proxy = self.start_proxy(self.origin.port, self.overrides)
        self.proxy.wait_line(r"admin listener on 127\.0\.0\.1:%d"
                             % self.admin_port)

    def scrape(self):
        status, headers, body = admin_get(self.admin_port, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith(
            "text/plain; version=0.0.4"), headers)
        return body.decode()

    def refused(self, raw, want):
        """Send raw on a connection of its own; the refusal and its close."""
        c = self.client(self.proxy.port)
        c.send(raw)
        r = c.read_response()
        self.assertEqual(r.status, want, r)
        rest = c.read_until_eof()
        return len(r.raw_head) + len(r.body) + len(rest)

    def access(self, pattern, since=0):
        m = self.proxy.wait_line(pattern, timeout=5.0, since=since)
        self.assertIsNotNone(m, "no access log line matching %r" % pattern)
        return m.string


@unittest.skipIf(text_string_to_metric_families is None,
                 "python3-prometheus-client is not installed (./dev installs it)")
class TestMetrics(AdminCase):

    def traffic(self):
        """Known traffic: two GETs on one connection (the second on the
        pooled upstream connection), a 411, a CL+TE and a bare LF.
        Returns the bytes the client received."""
        got = 0
        c = self.client(self.proxy.port)
        for t in ("/m1", "/m2"):
            r = c.request("GET", t)
            self.assertEqual(r.status, 200, r)
            got += len(r.raw_head) + len(r.body)
        got += self.refused(CHUNKED, 411)
        got += self.refused(CL_TE, 400)
        got += self.refused(BARE_LF, 400)
        # every request is logged (and counted) before the scrape
        self.access(r'"GET /barelf HTTP/1\.1" 400 ')
        return got

    def test_counts_after_known_traffic(self):
        got = self.traffic()
        text = self.scrape()
        smp = samples(text)
        want = {
            ("lengthguard_requests_total",
             (("verdict", "forwarded"), ("status", "200"))): 2,
            ("lengthguard_requests_total",
             (("verdict", "policy"), ("status", "411"))): 1,
            ("lengthguard_requests_total",
             (("verdict", "ambiguous_framing"), ("status", "400"))): 2,
            ("lengthguard_refusals_total", (("reason", "chunked_body"),)): 1,
            ("lengthguard_refusals_total",
             (("reason", "content_length_with_transfer_encoding"),)): 1,
            ("lengthguard_refusals_total", (("reason", "bare_lf"),)): 1,
            ("lengthguard_refusals_total", (("reason", "obs_fold"),)): 0,
            ("lengthguard_desync_requests_total", (("class", "compliant"),)): 3,
            ("lengthguard_desync_requests_total", (("class", "acceptable"),)): 0,
            ("lengthguard_desync_requests_total", (("class", "ambiguous"),)): 1,
            ("lengthguard_desync_requests_total", (("class", "severe"),)): 1,
            ("lengthguard_responses_total", (("code", "2xx"),)): 2,
            ("lengthguard_responses_total", (("code", "4xx"),)): 3,
            ("lengthguard_responses_total", (("code", "5xx"),)): 0,
            ("lengthguard_request_duration_seconds_count", ()): 5,
            ("lengthguard_request_duration_seconds_bucket",
             (("le", "+Inf"),)): 5,
            ("lengthguard_upstream_response_seconds_count", ()): 2,
            ("lengthguard_upstream_pool_hits_total", ()): 1,
            ("lengthguard_upstream_pool_misses_total", ()): 1,
            ("lengthguard_upstream_connections_total", ()): 1,
            ("lengthguard_upstream_connections", ()): 1,
            ("lengthguard_client_connections_total", ()): 4,
            ("lengthguard_upstream_connect_failures_total", ()): 0,
            ("lengthguard_upstream_early_closes_total", ()): 0,
            ("lengthguard_reloads_total", (("result", "ok"),)): 0,
            ("lengthguard_workers", ()): 1,
            ("lengthguard_config_generation", ()): 1,
            ("lengthguard_client_sent_bytes_total", ()): got,
        }
        for (name, labels), v in want.items():
            self.assertEqual(value(smp, name, **dict(labels)), v,
                             "%s%r" % (name, dict(labels)))
        # the requests sent: all their bytes were read, and no more
        sent = sum(len(x) for x in (CHUNKED, CL_TE, BARE_LF)) + sum(
            len(build_request("GET", t)) for t in ("/m1", "/m2"))
        self.assertEqual(value(smp, "lengthguard_client_received_bytes_total"),
                         sent)
        self.assertGreater(value(smp, "lengthguard_upstream_sent_bytes_total"), 0)
        self.assertGreater(value(smp, "lengthguard_upstream_received_bytes_total"), 0)
        # the buckets add up: cumulative, and every request under +Inf
        prev = 0
        for le in ("0.001", "0.01", "0.1", "1", "10", "60"):
            b = value(smp, "lengthguard_request_duration_seconds_bucket", le=le)
            self.assertGreaterEqual(b, prev, le)
            prev = b
        # every reason of the table has its series, and only those
        reasons = [dict(l)["reason"] for (n, l) in smp
                   if n == "lengthguard_refusals_total"]
        self.assertEqual(len(reasons), len(set(reasons)))
        self.assertGreater(len(reasons), 50)
        code, out, _ = run_proxy_cmd(["-V"])
        self.assertEqual(code, 0)
        version = out.split()[1]
        self.assertEqual(value(smp, "lengthguard_build_info", version=version), 1)
        self.assertNotIn("verdict=\"forwarded\",status=\"404\"", text)

    @unittest.skipIf(PROMTOOL is None,
                     "promtool (package prometheus) is not installed")
    def test_promtool_check_metrics(self):
        self.traffic()
        text = self.scrape()
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout + p.stderr, b"", "promtool has remarks")

    def test_counters_survive_a_reload(self):
        c = self.client(self.proxy.port)
        self.assertEqual(c.request("GET", "/before").status, 200)
        self.access(r'"GET /before HTTP/1\.1" 200 ')
        mark = self.proxy.log.mark()
        self.proxy.send_signal(signal.SIGHUP)
        self.proxy.wait_line(r"configuration reloaded", since=mark)
        smp = samples(self.scrape())
        self.assertEqual(value(smp, "lengthguard_requests_total",
                               verdict="forwarded", status="200"), 1)
        self.assertEqual(value(smp, "lengthguard_reloads_total", result="ok"), 1)
        self.assertEqual(value(smp, "lengthguard_config_generation"), 2)


class TestAdminEndpoints(AdminCase):

    def test_healthz(self):
        status, headers, body = admin_get(self.admin_port, "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        status, headers, body = admin_get(self.admin_port, "/healthz", "HEAD")
        self.assertEqual((status, body), (200, b""))

    def test_unknown_path_and_method(self):
        status, _, _ = admin_get(self.admin_port, "/")
        self.assertEqual(status, 404)
        status, _, _ = admin_get(self.admin_port, "/metricsx")
        self.assertEqual(status, 404)
        for m in ("POST", "PUT", "DELETE"):
            status, headers, _ = admin_get(self.admin_port, "/metrics", m)
            self.assertEqual(status, 405, m)
            self.assertEqual(headers.get("allow"), "GET, HEAD")

    def test_not_on_the_proxy_port(self):
        """/metrics on the proxy's port is a request like any other: it
        goes to the origin, and nothing of the admin answers it."""
        c = self.client(self.proxy.port)
        r = c.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(b"lengthguard_", r.body)
        self.origin.wait_request("/metrics")    # the origin answered it

    def test_status_after_reloads(self):
        status, headers, body = admin_get(self.admin_port, "/status")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        st = json.loads(body)
        code, out, _ = run_proxy_cmd(["-V"])
        self.assertEqual(st["version"], out.split()[1])
        self.assertEqual(st["generation"], 1)
        self.assertIsNone(st["last_reload"])
        self.assertEqual(st["workers"], 1)
        self.assertGreaterEqual(st["uptime_seconds"], 0)
        self.assertEqual([u["address"] for u in st["upstreams"]],
                         ["127.0.0.1:%d" % self.origin.port])
        self.assertEqual(st["upstreams"][0]["state"], "up")
        self.assertEqual(set(st["connections"]), {"client", "upstream"})

        # a good reload: the next generation
        mark = self.proxy.log.mark()
        self.proxy.send_signal(signal.SIGHUP)
        self.proxy.wait_line(r"configuration reloaded", since=mark)
        st = json.loads(admin_get(self.admin_port, "/status")[2])
        self.assertEqual(st["generation"], 2)
        self.assertEqual(st["last_reload"]["result"], "ok")
        self.assertEqual(st["reloads"], {"ok": 1, "failed": 0})

        # a broken one: the generation stays, the failure is said
        with open(self.proxy.conf, "a") as f:
            f.write("\n[log]\nformat = yaml\n")
        mark = self.proxy.log.mark()
        self.proxy.send_signal(signal.SIGHUP)
        self.proxy.wait_line(r"reload failed", since=mark)
        st = json.loads(admin_get(self.admin_port, "/status")[2])
        self.assertEqual(st["generation"], 2)
        self.assertEqual(st["last_reload"]["result"], "failed")
        self.assertIn("format", st["last_reload"]["error"])
        self.assertEqual(st["reloads"], {"ok": 1, "failed": 1})

    def test_admin_change_needs_a_restart(self):
        """The admin address is bound at start: a reload that changes it
        says so, and the old one goes on serving."""
        other = free_port()
        self.proxy.settings["admin"]["listen"] = "127.0.0.1:%d" % other
        write_conf(self.proxy.conf, self.proxy.settings)
        mark = self.proxy.log.mark()
        self.proxy.send_signal(signal.SIGHUP)
        self.proxy.wait_line(r"\[admin\] listen changed: it takes effect on "
                             r"restart", since=mark)
        self.assertEqual(admin_get(self.admin_port, "/healthz")[0], 200)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", other), timeout=2).close()


class TestAdminConf(unittest.TestCase):
    """lengthguard -t refuses an admin address a proxy listener has."""

    def check(self, listen, admin):
        d = tempfile.mkdtemp(prefix="lg-e2e-")
        self.addCleanup(shutil.rmtree, d, True)
        conf = os.path.join(d, "lengthguard.conf")
        write_conf(conf, {"proxy": {"listen": listen, "user": RUN_AS,
                                    "upstream": "127.0.0.1:9"},
                          "pages": {"dir": PAGES_DIR},
                          "admin": {"listen": admin}})
        return run_proxy_cmd(["-t", "-c", conf])

    def test_same_address_refused(self):
        code, _, err = self.check("127.0.0.1:18090", "127.0.0.1:18090")
        self.assertEqual(code, 1, err)
        self.assertIn("is also a proxy listen address", err)
        code, _, err = self.check("*:18090", "127.0.0.1:18090")
        self.assertEqual(code, 1, err)
        self.assertIn("is also a proxy listen address", err)

    def test_other_port_accepted(self):
        code, _, err = self.check("127.0.0.1:18090", "127.0.0.1:18091")
        self.assertEqual(code, 0, err)


class TestAccessLogCombined(AdminCase):

    def test_class_values(self):
        c = self.client(self.proxy.port)
        self.assertEqual(c.request("GET", "/plain").status, 200)
        self.assertEqual(c.request("GET", "/under", [("Foo_Bar", "1")]).status,
                         200)
        self.refused(CL_TE, 400)
        self.refused(BARE_LF, 400)
        self.refused(CHUNKED, 411)
        for pat, cls in ((r'"GET /plain HTTP/1\.1" 200 ', "compliant"),
                         (r'"GET /under HTTP/1\.1" 200 ', "acceptable"),
                         (r'"POST /clte HTTP/1\.1" 400 ', "severe"),
                         (r'"GET /barelf HTTP/1\.1" 400 ', "ambiguous"),
                         (r'"POST /chunked HTTP/1\.1" 411 ', "compliant")):
            line = self.access(pat)
            self.assertTrue(line.endswith(" class=%s" % cls), line)

    def test_exact_verdict(self):
        """CL + TE says so, not some other Content-Length fault, in either
        order and with any coding."""
        self.refused(CL_TE, 400)
        self.refused(b"POST /tecl HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                     b"gzip\r\nContent-Length: 3\r\n\r\n", 400)
        for t in ("clte", "tecl"):
            line = self.access(r'"POST /%s HTTP/1\.1" 400 ' % t)
            self.assertIn('verdict="Content-Length with Transfer-Encoding"',
                          line)
            self.assertTrue(line.endswith(" class=severe"), line)

    def test_request_line_of_refusals(self):
        """400, 414, 431, 501 and 505 keep the request line they had."""
        self.refused(BARE_LF, 400)
        self.access(r'"GET /barelf HTTP/1\.1" 400 \d+ .*verdict="LF without CR')
        self.refused(b"GET /long" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
                     414)
        line = self.access(r'"GET /longa+\.\.\." 414 ')
        self.assertIn('verdict="request line too long"', line)
        self.refused(b"GET /many HTTP/1.1\r\nHost: t\r\n" + b"".join(
            b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431)
        self.access(r'"GET /many HTTP/1\.1" 431 ')
        self.refused(b"BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n", 501)
        self.access(r'"BREW /pot HTTP/1\.1" 501 ')
        self.refused(b"GET /v HTTP/1.2\r\nHost: t\r\n\r\n", 505)
        self.access(r'"GET /v HTTP/1\.2" 505 ')
        self.assertFalse([l for l in self.proxy.log.lines()
                          if re.search(r'\] "-" \d{3} ', l)],
                         "a refusal logged without its request line")


class TestAccessLogJSON(AdminCase):
    log_format = "json"

    KEYS = ["time", "client", "request", "method", "target", "version",
            "request_cut", "status", "bytes", "referer", "user_agent", "rt",
            "urt", "verdict", "reason", "class", "upstream", "would_refuse"]

    def json_line(self, needle):
        m = self.proxy.wait_line(r'^\{"time":.*' + re.escape(needle),
                                 timeout=5.0)
        self.assertIsNotNone(m, needle)
        obj = json.loads(m.string)
        self.assertEqual(list(obj), self.KEYS, "stable keys, in order")
        return obj

    def test_json_lines(self):
        c = self.client(self.proxy.port)
        ua = 'agent "quoted" \\ backslash \xe9'
        c.send(build_request("GET", "/j?a=b", [("User-Agent", ua)]))
        self.assertEqual(c.read_response().status, 200)
        obj = self.json_line('"/j?a=b"')
        self.assertEqual(obj["status"], 200)
        self.assertEqual(obj["method"], "GET")
        self.assertEqual(obj["version"], "HTTP/1.1")
        self.assertEqual(obj["request"], "GET /j?a=b HTTP/1.1")
        self.assertEqual(obj["user_agent"], ua)   # \xe9 came as one byte
        self.assertIsNone(obj["referer"])
        self.assertEqual(obj["verdict"], "forwarded")
        self.assertIsNone(obj["reason"])
        self.assertEqual(obj["class"], "compliant")
        self.assertIs(obj["would_refuse"], False)
        self.assertEqual(obj["upstream"], "127.0.0.1:%d" % self.origin.port)
        self.assertEqual(obj["client"], "127.0.0.1")
        self.assertIsInstance(obj["urt"], float)
        self.assertRegex(obj["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")

        self.refused(BARE_LF, 400)
        obj = self.json_line('"bare_lf"')
        self.assertEqual(obj["request"], "GET /barelf HTTP/1.1")
        self.assertIsNone(obj["method"])
        self.assertIsNone(obj["urt"])
        self.assertIsNone(obj["upstream"])
        self.assertEqual((obj["status"], obj["class"], obj["verdict"]),
                         (400, "ambiguous", "LF without CR in request head"))

        self.refused(CL_TE, 400)
        obj = self.json_line('"content_length_with_transfer_encoding"')
        self.assertEqual(obj["class"], "severe")


class TestErrorLog(E2ECase):
    """The error log's lines about requests: 5xx and refusals."""

    def proxy_on(self, port, over=None):
        return self.start_proxy(port, over)

    def line(self, proxy, pattern):
        m = proxy.wait_line(pattern, timeout=5.0)
        self.assertIsNotNone(m, pattern)
        return m.string

    def test_502_line(self):
        dead = free_port()          # nothing listens there
        p = self.proxy_on(dead)
        c = self.client(p.port)
        r = c.request("GET", "/five02")
        self.assertEqual(r.status, 502, r)
        line = self.line(p, r"warn: request failed: 502 ")
        self.assertIn("upstream_connect_failed", line)
        self.assertIn("client=127.0.0.1 ", line)
        self.assertIn('request="GET /five02 HTTP/1.1"', line)
        self.assertIn("upstream=127.0.0.1:%d " % dead, line)
        self.assertRegex(line, r" rt=\d+\.\d{3} urt=\d+\.\d{3}$")

    def test_504_line(self):
        origin = ScriptedOrigin(lambda *a: [2.0, http_response(b"late\n")])
        self.addCleanup(origin.stop)
        p = self.proxy_on(origin.port, {"timeouts": {"upstream_response": "300ms"}})
        c = self.client(p.port)
        r = c.request("GET", "/five04")
        self.assertEqual(r.status, 504, r)
        line = self.line(p, r"warn: request failed: 504 ")
        self.assertIn("upstream_response_timeout", line)
        self.assertIn('request="GET /five04 HTTP/1.1"', line)
        self.assertIn("upstream=127.0.0.1:%d " % origin.port, line)

    def test_refusal_line_at_info(self):
        origin = self.start_origin()
        p = self.proxy_on(origin.port)
        c = self.client(p.port)
        c.send(CL_TE)
        self.assertEqual(c.read_response().status, 400)
        line = self.line(p, r"info: request refused: 400 ")
        self.assertIn("content_length_with_transfer_encoding", line)
        self.assertIn('request="POST /clte HTTP/1.1"', line)
        self.assertIn("class=severe", line)
        self.assertIn("upstream=- ", line)

    def test_no_refusal_line_at_warn(self):
        """At warn, refusals have no error log line (a 5xx has). The level
        comes with a reload: at warn, "listening on" is not said; the
        admin address changed too, for a warning to wait on."""
        origin = self.start_origin()
        p = self.proxy_on(origin.port, {"admin": {"listen": "127.0.0.1:%d"
                                                  % free_port()}})
        p.settings["log"]["level"] = "warn"
        p.settings["admin"]["listen"] = "127.0.0.1:%d" % free_port()
        write_conf(p.conf, p.settings)
        mark = p.log.mark()
        p.send_signal(signal.SIGHUP)
        p.wait_line(r"warn: \[admin\] listen changed", since=mark)
        c = self.client(p.port)
        c.send(CL_TE)
        self.assertEqual(c.read_response().status, 400)
        self.line(p, r'"POST /clte HTTP/1\.1" 400 ')    # the access line
        r = self.client(p.port).request("GET", "/x")     # a 200, no line
        self.assertEqual(r.status, 200)
        self.line(p, r'"GET /x HTTP/1\.1" 200 ')
        self.assertFalse([l for l in p.log.lines()[mark:]
                          if "request refused" in l or "info:" in l])

    def test_rate_limited(self):
        """At most 10 request lines a second per worker; the lines left
        out are counted, and the next line after that second says how
        many: refused lines and suppressed counts add up to every
        refusal."""
        origin = self.start_origin()
        p = self.proxy_on(origin.port)
        n = 0

        def refuse():
            c = self.client(p.port)
            # a whole (empty) chunked body: the 411 comes at once
            # (without it, the proxy waits up to 1 s for the body)
            c.send(b"POST /rl-%d HTTP/1.1\r\nHost: t\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % n)
            self.assertEqual(c.read_response().status, 411)
            c.close()
            return n + 1

        for _ in range(40):
            n = refuse()
        # one more refusal per try, until a second has passed and the
        # count of the left out ones is said (bounded: 3 s)
        deadline = time.monotonic() + 3.0
        said = None
        while said is None and time.monotonic() < deadline:
            n = refuse()
            said = p.log.wait_for(r"suppressed (\d+) request lines?",
                                  timeout=0.3)
        self.assertIsNotNone(said, "no suppressed line")
        # the access log is written in order: once the last is in, all are
        self.line(p, r'"POST /rl-%d HTTP/1\.1" 411 ' % (n - 1))
        lines = p.log.lines()
        access = sum(1 for l in lines if re.search(r'"POST /rl-\d+ HTTP/1\.1" 411 ', l))
        logged = sum(1 for l in lines if "request refused: 411" in l)
        suppressed = sum(int(m.group(1)) for m in (
            re.search(r"suppressed (\d+) request lines?", l) for l in lines) if m)
        self.assertEqual(access, n)
        self.assertLess(logged, n)
        # the last lines may still be in the current second: not said yet
        self.assertLessEqual(logged + suppressed, n)
        self.assertGreater(suppressed, 0)


class TestDebugLog(AdminCase):
    level = "debug"

    def test_connection_and_pool_events(self):
        c = self.client(self.proxy.port)
        self.assertEqual(c.request("GET", "/d1").status, 200)
        self.assertEqual(c.request("GET", "/d2").status, 200)
        self.proxy.wait_line(r"debug: worker 0: connection from 127\.0\.0\.1")
        self.proxy.wait_line(r"debug: upstream 127\.0\.0\.1:%d: new connection"
                             % self.origin.port)
        self.proxy.wait_line(r"debug: upstream 127\.0\.0\.1:%d: connection idle"
                             % self.origin.port)
        m = self.proxy.wait_line(r"debug: upstream 127\.0\.0\.1:%d: idle "
                                 r"connection reused" % self.origin.port)
        self.assertIsNotNone(m)
        c.close()
        self.assertIsNotNone(self.proxy.wait_line(
            r"debug: worker 0: connection closed"))


if __name__ == "__main__":
    unittest.main()
