"""End-to-end tests of what lengthguard lets reach an upstream, for the
backends that parse HTTP worst (tests/zoo/ runs the same rules against
real ones): forwarding fields, field names with "_", bodies on methods
that have none. The upstream is a ScriptedOrigin that records each head.

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/e2e -p test_hygiene.py -v
"""

import re

from harness import E2ECase, ScriptedOrigin, build_request, http_response


def fields(head, name):
    """The values of every `name` line of a raw head (bytes), in order."""
    return [m.group(1).decode("latin-1") for m in re.finditer(
        rb"(?im)^" + re.escape(name.encode()) + rb":[ \t]*([^\r\n]*?)[ \t]*\r?$",
        head)]


class HygieneCase(E2ECase):
    overrides = None

    def setUp(self):
        super().setUp()
        self.origin = ScriptedOrigin(
            lambda conn, nth, method, target, body: [http_response(b"ok\n")])
        self.addCleanup(self.origin.stop)
        self.proxy = self.start_proxy(self.origin.port, self.overrides)

    def forward(self, headers, method="GET", body=None):
        """Send one request; returns (status, the head the origin got)."""
        n = len(self.origin.seen)
        c = self.client(self.proxy.port)
        c.send(build_request(method, "/h", headers, body))
        r = c.read_response(method)
        seen = self.origin.wait_seen(n + 1) if r.status == 200 else []
        return r.status, (seen[n][5] if len(seen) > n else None)


class TestForwardingFromUntrusted(HygieneCase):
    """A client that is not a trusted proxy cannot say where a request came
    from: its X-Forwarded-For, Forwarded and X-Real-IP never reach the
    upstream, and X-Forwarded-For is one line: the peer's address."""

    def test_x_forwarded_for_replaced(self):
        status, head = self.forward([("X-Forwarded-For", "1.2.3.4"),
                                     ("X-Forwarded-For", "5.6.7.8")])
        self.assertEqual(status, 200)
        self.assertEqual(fields(head, "X-Forwarded-For"), ["127.0.0.1"], head)

    def test_forwarded_and_x_real_ip_dropped(self):
        status, head = self.forward([("Forwarded", "for=1.2.3.4"),
                                     ("X-Real-IP", "1.2.3.4")])
        self.assertEqual(status, 200)
        self.assertEqual(fields(head, "Forwarded"), [], head)
        self.assertEqual(fields(head, "X-Real-IP"), [], head)


class TestForwardingFromTrusted(HygieneCase):
    """From a peer in trusted_proxies, the client's X-Forwarded-For lines are
    kept, joined into one line with the peer's address appended, so code
    that reads the first line sees the whole chain."""

    overrides = {"proxy": {"trusted_proxies": "127.0.0.0/8"}}

    def test_x_forwarded_for_joined(self):
        status, head = self.forward([("X-Forwarded-For", "1.2.3.4"),
                                     ("X-Forwarded-For", "5.6.7.8")])
        self.assertEqual(status, 200)
        self.assertEqual(fields(head, "X-Forwarded-For"),
                         ["1.2.3.4, 5.6.7.8, 127.0.0.1"], head)

    def test_forwarded_kept(self):
        status, head = self.forward([("Forwarded", "for=1.2.3.4")])
        self.assertEqual(status, 200)
        self.assertEqual(fields(head, "Forwarded"), ["for=1.2.3.4"], head)


class TestUnderscores(HygieneCase):
    """CGI and WSGI gateways fold "_" and "-" into one variable: an alias of
    a field lengthguard guards is refused, other "_" names are dropped
    (underscores = drop), and httpoxy's Proxy never goes up."""

    def test_alias_of_a_guarded_field_is_400(self):
        for name in ("Transfer_Encoding", "Content_Length", "X_Forwarded_For",
                     "X_Real_IP", "Keep_Alive"):
            with self.subTest(name=name):
                status, _ = self.forward([(name, "1")])
                self.assertEqual(status, 400)

    def test_other_underscore_names_dropped(self):
        status, head = self.forward([("Foo_Bar", "x"), ("Foo-Baz", "y")])
        self.assertEqual(status, 200)
        self.assertEqual(fields(head, "Foo_Bar"), [], head)
        self.assertEqual(fields(head, "Foo-Baz"), ["y"], head)

    def test_proxy_dropped(self):
        status, head = self.forward([("Proxy", "http://evil:3128")])
        self.assertEqual(status, 200)
        self.assertEqual(fields(head, "Proxy"), [], head)


class TestBodyOnGet(HygieneCase):
    """A GET's body is refused (a backend that ignores Content-Length on GET
    would read it as the next request on a reused connection)."""

    def test_get_with_a_body_is_400(self):
        status, _ = self.forward([], "GET", b"GET /inner HTTP/1.1\r\n\r\n")
        self.assertEqual(status, 400)
        self.assertEqual(self.origin.seen, [])

    def test_get_with_content_length_0_is_forwarded(self):
        status, head = self.forward([("Content-Length", "0")])
        self.assertEqual(status, 200)


class TestBodyMethods(HygieneCase):
    """A method listed in body_methods may carry a body; the upstream is told
    to close (Connection: close), and the connection is never reused, even
    if the upstream keeps it open."""

    overrides = {"policy": {"body_methods": "GET"}}

    def test_listed_get_body_goes_on_a_connection_of_its_own(self):
        c = self.client(self.proxy.port)
        for i in range(3):
            c.send(build_request("GET", "/b%d" % i, (), b"body%d" % i))
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
        seen = self.origin.wait_seen(3)
        self.assertEqual([s[4] for s in seen], [b"body0", b"body1", b"body2"])
        for s in seen:
            self.assertEqual(fields(s[5], "Connection"), ["close"], s[5])
        self.assertEqual(self.origin.connections, 3,
                         "an upstream connection carried a GET body and "
                         "was used again")


class TestCloseAfterBody(HygieneCase):
    """close_after_body: a request of a listed method with a body goes
    upstream with Connection: close, on a connection never used again (a
    backend that answers without reading the body would read it as the
    next request); a request without a body still shares connections."""

    overrides = {"policy": {"close_after_body": "POST"}}

    def test_each_post_body_has_a_connection_of_its_own(self):
        c = self.client(self.proxy.port)
        for i in range(3):
            c.send(build_request("POST", "/p%d" % i, (), b"body%d" % i))
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
        for i in range(2):
            c.send(build_request("GET", "/g%d" % i))
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
        seen = self.origin.wait_seen(5)
        self.assertEqual([s[4] for s in seen[:3]], [b"body0", b"body1", b"body2"])
        for s in seen[:3]:
            self.assertEqual(fields(s[5], "Connection"), ["close"], s[5])
        for s in seen[3:]:
            self.assertEqual(fields(s[5], "Connection"), [], s[5])
        self.assertEqual(self.origin.connections, 4,
                         "a connection that carried a POST body was used "
                         "again, or the GETs did not share one")


class TestLimitsHonourAccept(HygieneCase):
    """414 and 431 are answered in JSON when Accept prefers it, like every
    other refusal, although their heads are never read whole."""

    overrides = {"limits": {"max_request_line": "1k", "max_header_size": "4k"}}

    def problem(self, raw):
        c = self.client(self.proxy.port)
        c.send(raw)
        r = c.read_response()
        return r.status, (r.header("Content-Type") or "").split(";")[0]

    def test_414_json(self):
        raw = (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: test\r\n"
               b"Accept: application/json\r\n\r\n")
        self.assertEqual(self.problem(raw), (414, "application/problem+json"))

    def test_414_html_without_accept(self):
        raw = b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: test\r\n\r\n"
        self.assertEqual(self.problem(raw), (414, "text/html"))

    def test_431_json(self):
        raw = (b"GET / HTTP/1.1\r\nHost: test\r\nAccept: application/json\r\n"
               + b"X-Pad: " + b"p" * 5000 + b"\r\n\r\n")
        self.assertEqual(self.problem(raw), (431, "application/problem+json"))
