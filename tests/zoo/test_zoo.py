"""The zoo: lengthguard in front of real legacy backends from Debian packages.

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/zoo -v

Each backend serves apps/zoo_app.py, which writes one JSON line per request
it handles (method, path, query, the environ variables that matter, the
body's length and sha256). Every case of cases.py is sent as raw bytes on a
new connection, then a sentinel GET on another: once the sentinel is
answered, the backend has handled everything before it, and the records of
the case are what the application saw.

The tests send each case through lengthguard and assert that the app saw
exactly the approved requests with exactly their bodies, and that the client
got the expected statuses. Before them, the same cases go DIRECTLY to each
backend, asserting nothing: what the app saw then is only reported, beside
what it saw behind lengthguard, in $LG_BUILD/zoo-summary.md (printed at the
end of the run).

Backends: wsgiref (python3), busybox httpd + CGI (busybox), gunicorn with
one sync worker (gunicorn), waitress with one thread (python3-waitress).
"""

import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import (Client, Process, ProtocolError, Proxy,  # noqa: E402
                     free_port, short)
import cases  # noqa: E402

APPS = os.path.join(HERE, "apps")
# the backends are Debian's: their Python is Debian's, whatever runs the tests
BACKEND_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) \
    else sys.executable
IO_TIMEOUT = 5.0        # for one response behind lengthguard
DIRECT_TIMEOUT = 3.0    # for a backend on its own to answer or close
SUMMARY = os.path.join(harness.BUILD, "zoo-summary.md")

# Cases known to fail, as expected failures: a fix makes one pass, the run
# then fails on an "unexpected success", and its name must go from this set.
# (The header-hygiene rules emptied it: field names with "_", httpoxy's
# Proxy, a client's own X-Forwarded-For, a GET's body.)
PENDING_HYGIENE = set()


# ---------------------------------------------------------------- backends

class Backend:
    """One legacy server running zoo_app, recording into its own directory.
    Subclasses give the argv and how readiness shows."""

    name = package = None
    prefix = ""             # where the app is mounted
    ready_rx = None         # a line with the port as group 1, or None
    proxy_conf = None       # overrides of the proxy's conf in front of it

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, self.name)
        self.rec = os.path.join(self.dir, "rec")
        os.makedirs(self.rec)
        self.point("startup")
        self.port = None
        self.proc = None
        self.cases = {c.name: c for c in cases.build(self.prefix)}

    def env(self):
        e = dict(os.environ)
        e.update(ZOO_RECORD_DIR=self.rec, ZOO_SERVER=self.name,
                 ZOO_APPS=APPS, PYTHONPATH=APPS, PYTHONDONTWRITEBYTECODE="1")
        return e

    def start(self):
        self.proc = Process(self.name, self.argv(), env=self.env())
        return self

    def ready(self):
        m = self.proc.wait_line(self.ready_rx)
        self.port = int(m.group(1))
        return self

    def point(self, tag):
        """From now on the app records into rec/TAG.jsonl."""
        tmp = os.path.join(self.rec, "current.tmp")
        with open(tmp, "w") as f:
            f.write(tag + "\n")
        os.replace(tmp, os.path.join(self.rec, "current"))

    def records(self, tag):
        try:
            with open(os.path.join(self.rec, tag + ".jsonl")) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []




class Wsgiref(Backend):
    name, package = "wsgiref", "python3"
    binary = BACKEND_PYTHON
    ready_rx = r"^wsgiref serving on 127\.0\.0\.1:(\d+)$"

    def argv(self):
        return [self.binary, os.path.join(APPS, "serve_wsgiref.py"),
                "127.0.0.1", "0"]


class Busybox(Backend):
    name, package = "busybox-cgi", "busybox"
    binary = shutil.which("busybox") or "/bin/busybox"
    prefix = "/cgi-bin/zoo"

    # busybox httpd answers HTTP/1.1 with a Content-Length (the CGI's) and
    # no "Connection: close", then closes once the CGI has exited: a pooled
    # connection is often going away as the next request takes it. An
    # idempotent request is then retried on a new connection, and a POST
    # takes a pooled one only after checking it, but a POST pipelined right
    # behind the response still races the close and gets a 502. What an
    # operator does for such a backend: no upstream pool.
    proxy_conf = {"proxy": {"upstream_pool_size": "0"}}

    def argv(self):
        www = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(www, "cgi-bin"), exist_ok=True)
        shutil.copy(os.path.join(APPS, "zoo.cgi"),
                    os.path.join(www, "cgi-bin", "zoo"))
        self.port = free_port()
        return [self.binary, "httpd", "-f",
                "-v", "-p", "127.0.0.1:%d" % self.port, "-h", www]

    def ready(self):
        harness.wait_port(self.proc, self.port)
        return self


class Gunicorn(Backend):
    name, package = "gunicorn", "gunicorn"
    binary = "/usr/bin/gunicorn"
    ready_rx = r"Listening at: http://127\.0\.0\.1:(\d+) "

    def argv(self):
        return [self.binary, "--workers", "1", "--worker-class",
                "sync", "--bind", "127.0.0.1:0", "--chdir", APPS,
                "zoo_app:application"]

    def ready(self):
        super().ready()
        self.proc.wait_line(r"Booting worker with pid")
        return self


class Waitress(Backend):
    name, package = "waitress", "python3-waitress"
    binary = "/usr/bin/waitress-serve"
    ready_rx = r"Serving on http://127\.0\.0\.1:(\d+)$"

    def argv(self):
        return [self.binary, "--listen=127.0.0.1:0",
                "--threads=1", "zoo_app:application"]


class HttpServerCgi(Backend):
    # python3's http.server with its CGI handler: HTTP/1.0, one request per
    # connection; on POST it forks and puts the socket itself on the CGI's
    # stdin (dup2), so the program reads the body straight from the client.
    name, package = "http.server-cgi", "python3"
    binary = BACKEND_PYTHON
    prefix = "/cgi-bin/zoo"
    ready_rx = r"^Serving HTTP on 127\.0\.0\.1 port (\d+) "

    def argv(self):
        www = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(www, "cgi-bin"), exist_ok=True)
        shutil.copy(os.path.join(APPS, "zoo.cgi"),
                    os.path.join(www, "cgi-bin", "zoo"))
        if os.getuid() == 0:
            # run as root, the handler runs its CGI programs as nobody:
            # they must reach the app and write their records
            os.chmod(os.path.dirname(self.dir), 0o755)
            os.chmod(self.dir, 0o755)
            os.chmod(self.rec, 0o777)
        return [self.binary, "-u", "-m", "http.server", "--cgi",
                "--bind", "127.0.0.1", "--directory", www, "0"]


BACKENDS = (Wsgiref, Busybox, Gunicorn, Waitress, HttpServerCgi)
# Backends whose CGI environment has only a fixed few HTTP_ variables
# (http.server: Accept, User-Agent, Cookie, Referer): the forwarding
# fields lengthguard sets cannot be seen there.
NO_FIELD_VARS = {HttpServerCgi.name}


# ---------------------------------------------------------------- running

class Observation:
    """What one case led to: the statuses the client read, whether the
    connection was closed after them, and the app's records."""

    def __init__(self):
        self.statuses = []
        self.closed = None
        self.error = ""
        self.records = []
        self.sentinel = ""      # what went wrong with the sentinel, if any


def read_all(c, obs, deadline_s):
    """Direct runs: read responses until EOF, an error or the deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            r = c.read_response(timeout=max(0.1, end - time.monotonic()))
        except ProtocolError as e:
            if not c.eof or c.buf:
                obs.error = str(e).split(";")[0]
            break
        obs.statuses.append(r.status)
        if c.eof and not c.buf:
            break
    obs.closed = c.eof


def send_case(port, case, obs, direct, n_statuses):
    c = Client(port, timeout=DIRECT_TIMEOUT if direct else IO_TIMEOUT)
    try:
        for i, step in enumerate(case.steps):
            last = i == len(case.steps) - 1
            try:
                c.send(step)
            except OSError as e:
                obs.error = "send: %s" % e
                break
            if last and case.leave:
                break       # gone, reading nothing (closed below)
            if direct:
                if last:
                    # half-close: a backend reading past what it got sees
                    # EOF at once instead of waiting for more
                    c.shutdown_write()
                    read_all(c, obs, DIRECT_TIMEOUT)
                else:
                    try:
                        obs.statuses.append(c.read_response().status)
                    except ProtocolError as e:
                        obs.error = str(e).split(";")[0]
                        break
                continue
            want = n_statuses - (len(case.steps) - 1) if last else 1
            for _ in range(want):
                try:
                    obs.statuses.append(c.read_response().status)
                except ProtocolError as e:
                    obs.error = str(e)
                    return
            if last and obs.statuses and obs.statuses[-1] >= 400:
                obs.closed = c.at_eof(IO_TIMEOUT)
    finally:
        c.close()


def observe(backend, port, case, mode):
    """Send `case` to port (the backend's or its proxy's), then the
    sentinel; return the Observation."""
    tag = "%s-%s" % (mode, case.name)
    backend.point(tag)
    obs = Observation()
    send_case(port, case, obs, mode == "direct",
              len(case.outcomes[0][0]))
    sentinel = "%s/z/%s/sentinel" % (backend.prefix, case.name)
    try:
        with Client(port, timeout=IO_TIMEOUT) as c:
            c.send(harness.build_request("GET", sentinel + "?" + mode,
                                         host="zoo"))
            r = c.read_response()
            if r.status != 200:
                obs.sentinel = "sentinel answered %d" % r.status
    except (OSError, ProtocolError) as e:
        obs.sentinel = "sentinel: %s" % e
    recs = backend.records(tag)
    if not obs.sentinel and not any(r["path"] == sentinel for r in recs):
        obs.sentinel = "sentinel answered but not recorded"
    obs.records = [r for r in recs if r["path"] != sentinel]
    return obs


def aliases(rec):
    """What must never reach an app, proxy or not: a variable that another
    field was folded into, httpoxy's HTTP_PROXY, the Foo_Bar field of the
    hygiene case, a body that is not the one announced."""
    env = rec["env"]
    bad = []
    for k, v in sorted(env.items()):
        # lengthguard removes Transfer-Encoding and sends Content-Length as
        # such: an HTTP_ variable of either is an alias that got through
        if k.startswith("HTTP_") and ("TRANSFER" in k or "CONTENT" in k):
            bad.append("the app saw %s=%r" % (k, v))
    for k in ("HTTP_PROXY", "HTTP_FOO_BAR"):
        if k in env:
            bad.append("the app saw %s=%r" % (k, env[k]))
    # the body the app read is the one it was told of, no more, no less
    cl = env.get("CONTENT_LENGTH") or "0"
    if cl != str(rec["body_len"]):
        bad.append("CONTENT_LENGTH=%r for a body of %d bytes"
                   % (cl, rec["body_len"]))
    return bad


def invariants(rec):
    """What every request the app sees behind lengthguard must satisfy:
    no alias, and the forwarding fields lengthguard sets, alone."""
    env = rec["env"]
    bad = aliases(rec)
    if rec["server"] in NO_FIELD_VARS:
        return bad
    if env.get("HTTP_X_FORWARDED_FOR") != "127.0.0.1":
        bad.append("HTTP_X_FORWARDED_FOR=%r, not the peer's 127.0.0.1 alone"
                   % env.get("HTTP_X_FORWARDED_FOR"))
    if env.get("HTTP_X_FORWARDED_PROTO") != "http":
        bad.append("HTTP_X_FORWARDED_PROTO=%r, not http"
                   % env.get("HTTP_X_FORWARDED_PROTO"))
    return bad


def req_key(r):
    return (r.method, r.path, r.query, len(r.body),
            hashlib.sha256(r.body).hexdigest())


def rec_key(rec):
    return (rec["method"], rec["path"], rec["query"], rec["body_len"],
            rec["body_sha256"])


def problems(case, obs):
    """Why obs, behind lengthguard, is not one of case's outcomes ([] when
    it is one)."""
    out = []
    if obs.sentinel:
        out.append(obs.sentinel)
    if obs.error:
        out.append("client: " + obs.error)
    match = [o for o in case.outcomes if o[0] == obs.statuses]
    if not match:
        out.append("the client got %s, expected %s" % (
            obs.statuses, " or ".join(str(o[0]) for o in case.outcomes)))
        match = case.outcomes
    seen = [rec_key(r) for r in obs.records]
    exact = [o for o in match if [req_key(r) for r in o[1]] == seen]
    if not exact:
        out.append("the app saw %s, expected %s" % (
            [describe_rec(case, r) for r in obs.records] or "nothing",
            " or ".join(str([describe_req(case, r) for r in o[1]] or
                            "nothing") for o in match)))
    statuses = (exact or match)[0][0]
    if statuses and statuses[-1] >= 400 and not obs.closed:
        out.append("the connection stayed open after %d" % statuses[-1])
    for rec in obs.records:
        out += [p for p in invariants(rec) + case.check(rec) if p not in out]
    return out


# ---------------------------------------------------------------- summary

def rel(case, path):
    base = "%s/z/%s" % (case.prefix, case.name)
    return path[len(base):] or "/" if path.startswith(base) else path


def describe_req(case, r):
    return "%s %s %dB" % (r.method, rel(case, r.path), len(r.body))


def describe_rec(case, rec):
    s = "%s %s %dB" % (rec["method"], rel(case, rec["path"]),
                       rec["body_len"])
    if rec["path"].endswith("/smuggled"):
        s += " SMUGGLED"
    notes = []
    for k, v in sorted(rec["env"].items()):
        if (k.startswith("HTTP_") and ("TRANSFER" in k or "CONTENT" in k)) \
                or k in ("HTTP_PROXY", "HTTP_FOO_BAR") \
                or (k == "HTTP_X_FORWARDED_FOR" and v != "127.0.0.1") \
                or (k == "HTTP_X_FORWARDED_PROTO" and v != "http"):
            notes.append("%s=%s" % (k[5:], esc(v)))
    if notes:
        s += " (%s)" % ", ".join(notes)
    return s


def verdict(case, obs, lengthguard):
    """A word or two for the matrix: how what the app saw compares with the
    outcomes lengthguard may give (statuses count behind lengthguard only)."""
    if obs is None:
        return "?"
    if any(r["path"].endswith("/smuggled") for r in obs.records):
        return "SMUGGLED"
    if lengthguard and not problems(case, obs):
        return "ok"
    seen = [rec_key(r) for r in obs.records]
    outcomes = [[req_key(r) for r in o[1]] for o in case.outcomes]
    approved = {k for o in outcomes for k in o}
    leak = any((invariants(r) if lengthguard else aliases(r)) +
               case.check(r) for r in obs.records)
    words = []
    if seen and not approved:
        words.append("accepted")
    elif any(k not in approved for k in seen):
        words.append("differs")
    elif seen not in outcomes:
        words.append("lost")
    if leak:
        words.append("leak")
    if not words:
        # direct: the app saw an outcome; behind lengthguard: only the
        # statuses or the close differ
        words.append("status" if lengthguard else "ok")
    return "+".join(words)


def esc(v):
    """A value for a table cell: controls and "|" escaped."""
    return "".join(ch if " " <= ch < "\x7f" and ch != "|" else
                   "\\x%02x" % ord(ch) for ch in v)


def cell_status(obs):
    if obs is None:
        return "?"
    s = ",".join(str(x) for x in obs.statuses) or "-"
    if obs.error:
        s += " (%s)" % esc(obs.error[:60])
    return s


def cell_app(case, obs):
    if obs is None:
        return "?"
    s = "; ".join(describe_rec(case, r) for r in obs.records) or "nothing"
    if obs.sentinel:
        s += " [%s]" % obs.sentinel
    return esc(s)


def summary(names, elapsed):
    out = ["# The zoo: what each application saw, direct / behind lengthguard",
           "",
           "Generated by tests/zoo/test_zoo.py in %.1f s. A verdict says how "
           "what the app saw compares with what lengthguard may let through "
           "(ok: exactly that; SMUGGLED: an inner request reached the app; "
           "accepted: a request that must be refused reached it; differs: "
           "another request or body; leak: a variable that must not reach "
           "it, or a client's X-Forwarded-For; lost: an approved request "
           "did not reach it). Direct runs assert nothing." % elapsed, "",
           "| case | " + " | ".join(b.name for b in ZOO.backends) + " |",
           "|---" * (len(ZOO.backends) + 1) + "|"]
    for n in names:
        row = []
        for b in ZOO.backends:
            c = b.cases[n]
            row.append("%s / %s" % (
                verdict(c, ZOO.results.get((b.name, n, "direct")), False),
                verdict(c, ZOO.results.get((b.name, n, "lg")), True)))
        mark = " (pending)" if n in PENDING_HYGIENE else ""
        out.append("| %s%s | %s |" % (n, mark, " | ".join(row)))
    for b in ZOO.backends:
        out += ["", "## %s (Debian package %s)" % (b.name, b.package), "",
                "| case | request | direct: client got | direct: app saw "
                "| lengthguard: client got | lengthguard: app saw |",
                "|---|---|---|---|---|---|"]
        for n in names:
            c = b.cases[n]
            d = ZOO.results.get((b.name, n, "direct"))
            g = ZOO.results.get((b.name, n, "lg"))
            out.append("| %s | %s | %s | %s | %s | %s |" % (
                n, esc(c.note), cell_status(d),
                cell_app(c, d), cell_status(g), cell_app(c, g)))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- fixture

class Zoo:
    def __init__(self):
        self.t0 = time.monotonic()
        self.tmp = tempfile.mkdtemp(prefix="lg-zoo-")
        self.backends = []
        self.proxies = {}
        self.results = {}

    def start(self):
        missing = [cls.package for cls in BACKENDS
                   if not os.access(cls.binary, os.X_OK)]
        if missing:
            raise RuntimeError("the zoo needs the Debian packages %s "
                               "(./dev test installs them)"
                               % " ".join(missing))
        # start them all, then wait for each: their start-ups overlap
        self.backends = [cls(self.tmp).start() for cls in BACKENDS]
        for b in self.backends:
            b.ready()
        for b in self.backends:
            self.proxies[b.name] = Proxy(b.port, b.proxy_conf, b.dir)
        for p in self.proxies.values():
            p.ready()

    def survey_direct(self):
        """Every case straight to every backend: information only."""
        for b in self.backends:
            for c in b.cases.values():
                self.results[(b.name, c.name, "direct")] = \
                    observe(b, b.port, c, "direct")
                if not b.proc.alive():      # note it, and go on
                    self.results[(b.name, c.name, "direct")].sentinel += \
                        " (backend died)"
                    b.start().ready()
                    self.proxies[b.name].stop()
                    self.proxies[b.name] = Proxy(b.port, b.proxy_conf,
                                                 b.dir).ready()

    def stop(self):
        for p in self.proxies.values():
            p.stop(timeout=3.0)
        for b in self.backends:
            if b.proc:
                b.proc.stop(timeout=3.0)
        shutil.rmtree(self.tmp, True)


ZOO = None


def setUpModule():
    global ZOO
    ZOO = Zoo()
    try:
        ZOO.start()
        ZOO.survey_direct()
    except BaseException:
        ZOO.stop()
        raise


def tearDownModule():
    if ZOO is None:
        return
    ZOO.stop()
    text = summary(cases.names(), time.monotonic() - ZOO.t0)
    try:
        with open(SUMMARY, "w") as f:
            f.write(text)
        where = "written to %s" % SUMMARY
    except OSError as e:
        where = "not written: %s" % e
    sys.stdout.write("\n%s\n(zoo summary %s)\n" % (text, where))
    sys.stdout.flush()


class ZooCase(unittest.TestCase):
    maxDiff = None

    def run_case(self, name):
        # every backend first, so that the summary has them all even when
        # an expected failure stops at the first failing sub-test
        seen = []
        for b in ZOO.backends:
            case = b.cases[name]
            obs = observe(b, self.proxies_port(b), case, "lg")
            ZOO.results[(b.name, name, "lg")] = obs
            seen.append((b, case, obs))
        for b, case, obs in seen:
            with self.subTest(backend=b.name):
                dead = [p.name for p in (b.proc, ZOO.proxies[b.name])
                        if not p.alive()]
                self.assertFalse(dead, "exited: %s" % dead)
                bad = problems(case, obs)
                self.assertFalse(bad, "%s behind lengthguard:\n  %s\n"
                                 "client got %s; records:\n%s\nproxy:\n%s"
                                 % (b.name, "\n  ".join(bad), obs.statuses,
                                    "\n".join(short(json.dumps(r).encode())
                                              for r in obs.records),
                                    ZOO.proxies[b.name].log.tail(8)))

    @staticmethod
    def proxies_port(b):
        return ZOO.proxies[b.name].port


class TestValid(ZooCase):
    """Valid requests reach the app once each, in order, bodies intact."""


class TestSmuggling(ZooCase):
    """Ambiguous framing reaches no app; what precedes it in a pipeline
    does, exactly."""


class TestHygiene(ZooCase):
    """Fields that CGI/WSGI gateways turn into variables they must not be."""


class TestCutShort(ZooCase):
    """A client that leaves in the middle of its body: the app must never
    handle the part that came as if it were the whole body."""


def _test(name):
    def test(self):
        self.run_case(name)
    test.__name__ = "test_" + name
    if name in PENDING_HYGIENE:
        test = unittest.expectedFailure(test)
    return test


_FAMILIES = {"valid": TestValid, "smuggling": TestSmuggling,
             "hygiene": TestHygiene, "cut": TestCutShort}
for _c in cases.build(""):
    setattr(_FAMILIES[_c.family], "test_" + _c.name, _test(_c.name))
assert PENDING_HYGIENE <= set(cases.names()), PENDING_HYGIENE
