"""cases.py - the zoo's requests, as raw bytes, and what each may lead to.

A case is built for one backend's path prefix (busybox serves the CGI
program under /cgi-bin/zoo, the WSGI servers at /). It has:

  steps     byte strings sent in turn on one new connection; a step is sent
            once the responses to the previous one are read (keep-alive);
  outcomes  what lengthguard may do, each (statuses, approved): the statuses
            the client reads, in order, and the requests that the app must
            then have handled, exactly and in order (method, path, query,
            body). Most cases have one outcome; where the rule is policy yet
            to be written (a GET with a body), each safe one is listed;
  check     an extra condition on every record the app wrote (besides the
            invariants that hold for every case, see test_zoo.invariants);
  leave     the client closes its connection right after the last step,
            reading nothing (a client that goes away mid-request).

An inner request that a sloppy parser could take for a second request
always targets <prefix>/z/<case>/smuggled: seeing it at the app is
smuggling.
"""

import collections

Req = collections.namedtuple("Req", "method path query body")
Case = collections.namedtuple(
    "Case", "name family prefix steps outcomes check note leave")

HOST = b"zoo"


def body(n):
    """n bytes of every value 0..255 in turn (CR, LF and NUL included)."""
    return (bytes(range(256)) * (n // 256 + 1))[:n]


def head(method, target, fields=(), version=b"HTTP/1.1", eol=b"\r\n"):
    """A request head; fields are raw lines (bytes), sent as they are."""
    lines = [b"%s %s %s" % (method, target, version), b"Host: " + HOST]
    lines += list(fields)
    return eol.join(lines) + eol + eol


def post(target, data, fields=()):
    return head(b"POST", target, list(fields) +
                [b"Content-Length: %d" % len(data)]) + data


def no_check(rec):
    return []


def env_absent(name):
    def check(rec):
        v = rec["env"].get(name)
        return [] if v is None else ["the app saw %s=%r" % (name, v)]
    return check


def env_lacks(name, text):
    """The variable, if there, does not contain text."""
    def check(rec):
        v = rec["env"].get(name)
        return [] if v is None or text not in v else \
            ["the app saw %s=%r" % (name, v)]
    return check


def build(prefix):
    """Every case, for a backend serving the app under `prefix` (str)."""
    cases = []

    def add(name, family, steps, outcomes, check=no_check, note="",
            leave=False):
        cases.append(Case(name, family, prefix, steps, outcomes, check, note,
                          leave))

    def P(name, tail=""):
        return "%s/z/%s%s" % (prefix, name, tail)

    def T(name, tail=""):
        return P(name, tail).encode()

    def inner(name):
        return head(b"GET", T(name, "/smuggled"))

    def chunked_then_inner(name):
        # a parser that honours chunked ends the body at "0" and reads the
        # rest as a second request; one that honours CL takes it all
        return b"0\r\n\r\n" + inner(name)

    # ------------------------------------------------------------ valid
    n = "get"
    add(n, "valid", [head(b"GET", T(n, "?x=1&y=2"))],
        [([200], [Req("GET", P(n), "x=1&y=2", b"")])],
        note="GET with a query")
    for n, size in (("post_1", 1), ("post_1000", 1000),
                    ("post_1mib", 1 << 20)):
        add(n, "valid", [post(T(n), body(size))],
            [([200], [Req("POST", P(n), "", body(size))])],
            note="POST, Content-Length: %d" % size)
    n = "keepalive_3"
    add(n, "valid",
        [head(b"GET", T(n, "/1")), post(T(n, "/2"), body(100)),
         head(b"GET", T(n, "/3?last"))],
        [([200, 200, 200], [Req("GET", P(n, "/1"), "", b""),
                            Req("POST", P(n, "/2"), "", body(100)),
                            Req("GET", P(n, "/3"), "last", b"")])],
        note="three requests in turn on one connection")
    n = "pipeline_3"
    add(n, "valid",
        [post(T(n, "/1"), body(10)) + post(T(n, "/2"), body(2000)) +
         post(T(n, "/3"), body(3))],
        [([200, 200, 200], [Req("POST", P(n, "/1"), "", body(10)),
                            Req("POST", P(n, "/2"), "", body(2000)),
                            Req("POST", P(n, "/3"), "", body(3))])],
        note="three requests with bodies in one write")

    # -------------------------------------------------------- smuggling
    refused = [([400], [])]

    def cl_and(name, fields):
        """POST with a Content-Length covering a chunked body that ends
        early, and `fields` (a way of saying Transfer-Encoding)."""
        data = chunked_then_inner(name)
        return head(b"POST", T(name), [b"Content-Length: %d" % len(data)] +
                    list(fields)) + data

    te_variants = (
        ("cl_te", [b"Transfer-Encoding: chunked"]),
        ("te_xchunked", [b"Transfer-Encoding: xchunked"]),
        ("te_chunked_identity", [b"Transfer-Encoding: chunked, identity"]),
        ("te_space_before_colon", [b"Transfer-Encoding : chunked"]),
        ("te_vtab", [b"Transfer-Encoding: \x0bchunked"]),
        ("te_tab", [b"Transfer-Encoding:\tchunked"]),
        ("te_trailing_ws", [b"Transfer-Encoding: chunked \t "]),
        ("two_te", [b"Transfer-Encoding: chunked",
                    b"Transfer-Encoding: identity"]),
        ("te_obs_fold", [b"Transfer-Encoding: identity", b" chunked"]),
        ("te_obs_fold_empty", [b"Transfer-Encoding:", b"\tchunked"]),
    )
    for n, fields in te_variants:
        add(n, "smuggling", [cl_and(n, fields)], refused,
            note="CL + " + " + ".join(
                f.decode("latin-1") for f in fields))

    n = "two_cl"
    data = b"hello" + inner(n)
    add(n, "smuggling",
        [head(b"POST", T(n), [b"Content-Length: 5",
                              b"Content-Length: %d" % len(data)]) + data],
        refused, note="Content-Length: 5 and the whole length")

    n = "chunked_no_cl"
    add(n, "smuggling",
        [head(b"POST", T(n), [b"Transfer-Encoding: chunked"]) +
         b"5\r\nhello\r\n" + chunked_then_inner(n)],
        [([411], [])], note="Transfer-Encoding: chunked, no Content-Length")

    n = "bare_lf"
    add(n, "smuggling",
        [head(b"POST", T(n), [b"Content-Length: 5"], eol=b"\n") + b"hello"],
        refused, note="every line ends in LF")
    n = "bare_lf_hides_te"
    data = chunked_then_inner(n)
    add(n, "smuggling",
        [head(b"POST", T(n), [b"X-Foo: bar\nTransfer-Encoding: chunked",
                              b"Content-Length: %d" % len(data)]) + data],
        refused, note="X-Foo: bar LF Transfer-Encoding: chunked")

    # GET whose body is a second complete request (CL.0): a backend that
    # ignores a GET's body would read it as the next request. Safe: the app
    # reads the body as the body, or it sees the GET without one (and no
    # length), or nothing at all.
    n = "cl0_get_body"
    data = inner(n)
    add(n, "smuggling",
        [head(b"GET", T(n), [b"Content-Length: %d" % len(data)]) + data],
        [([200], [Req("GET", P(n), "", data)]),
         ([200], [Req("GET", P(n), "", b"")]), ([400], [])],
        note="GET with Content-Length, the body is a request")

    # ----------------------------------------------- pipelines that mix
    def cl_te(name, tail):
        data = chunked_then_inner(name)
        return head(b"POST", T(name, tail), [
            b"Content-Length: %d" % len(data),
            b"Transfer-Encoding: chunked"]) + data

    n = "pipe_valid_cl_te"
    add(n, "smuggling", [post(T(n, "/1"), body(7)) + cl_te(n, "/2")],
        [([200, 400], [Req("POST", P(n, "/1"), "", body(7))])],
        note="valid POST, then CL + TE")
    n = "pipe_valid_two_cl"
    data = b"hello" + inner(n)
    add(n, "smuggling",
        [post(T(n, "/1"), body(7)) +
         head(b"POST", T(n, "/2"), [b"Content-Length: 5",
                                    b"Content-Length: %d" % len(data)]) +
         data],
        [([200, 400], [Req("POST", P(n, "/1"), "", body(7))])],
        note="valid POST, then two Content-Lengths")
    n = "pipe_valid_chunked"
    add(n, "smuggling",
        [post(T(n, "/1"), body(7)) +
         head(b"POST", T(n, "/2"), [b"Transfer-Encoding: chunked"]) +
         chunked_then_inner(n)],
        [([200, 411], [Req("POST", P(n, "/1"), "", body(7))])],
        note="valid POST, then chunked")
    n = "pipe_cl_te_valid"
    add(n, "smuggling", [cl_te(n, "/1") + post(T(n, "/2"), body(7))],
        refused, note="CL + TE, then a valid POST (never read)")
    n = "pipe_valid_bare_lf"
    add(n, "smuggling",
        [post(T(n, "/1"), body(7)) +
         head(b"GET", T(n, "/2"), eol=b"\n") + inner(n)],
        [([200, 400], [Req("POST", P(n, "/1"), "", body(7))])],
        note="valid POST, then a GET in bare LFs")

    # ------------------------------------------------ a body cut short
    # Content-Length: 10, 5 bytes, and the client is gone: a backend that
    # reads the body to the end of the stream takes the 5 bytes for the
    # whole body. lengthguard receives a body whole before it goes
    # upstream (request_buffering = on): the app never sees the request.
    n = "cl_cut_short"
    add(n, "cut", [head(b"POST", T(n), [b"Content-Length: 10"]) + b"12345"],
        [([], [])], leave=True,
        note="Content-Length: 10, 5 bytes sent, then the client leaves")

    # ---------------------------------------------------- header hygiene
    # Field names with "_": CGI and WSGI gateways fold "_" and "-" alike,
    # so Transfer_Encoding becomes HTTP_TRANSFER_ENCODING. Dropping such a
    # field and refusing the request are both safe.
    n = "te_underscore"
    data = chunked_then_inner(n)
    add(n, "hygiene",
        [head(b"POST", T(n), [b"Transfer_Encoding: chunked",
                              b"Content-Length: %d" % len(data)]) + data],
        [([200], [Req("POST", P(n), "", data)]), ([400], [])],
        note="Transfer_Encoding: chunked + Content-Length")
    n = "cl_underscore"
    add(n, "hygiene",
        [head(b"POST", T(n), [b"Content_Length: 1",
                              b"Content-Length: 5"]) + b"hello"],
        [([200], [Req("POST", P(n), "", b"hello")]), ([400], [])],
        note="Content_Length: 1 + Content-Length: 5")
    # an alias of a field lengthguard writes itself is refused outright
    n = "xfp_underscore"
    add(n, "hygiene",
        [head(b"GET", T(n), [b"X_Forwarded_Proto: https"])],
        [([400], [])],
        env_lacks("HTTP_X_FORWARDED_PROTO", "https"),
        note="X_Forwarded_Proto: https")
    n = "foo_bar"
    add(n, "hygiene", [head(b"GET", T(n), [b"Foo_Bar: x"])],
        [([200], [Req("GET", P(n), "", b"")])],
        env_absent("HTTP_FOO_BAR"), note="Foo_Bar: x (dropped)")
    n = "httpoxy"
    add(n, "hygiene", [head(b"GET", T(n), [b"Proxy: http://evil"])],
        [([200], [Req("GET", P(n), "", b"")])],
        env_absent("HTTP_PROXY"), note="Proxy: http://evil")
    n = "client_xff"
    add(n, "hygiene", [head(b"GET", T(n), [b"X-Forwarded-For: 1.2.3.4"])],
        [([200], [Req("GET", P(n), "", b"")])],
        env_lacks("HTTP_X_FORWARDED_FOR", "1.2.3.4"),
        note="X-Forwarded-For: 1.2.3.4 from the client")
    return cases


def names():
    return [c.name for c in build("")]
