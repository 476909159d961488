"""harness.py - start/stop helpers and a raw-socket HTTP/1.1 client for the
lengthguard end-to-end tests (python3 standard library only).

Binaries come from $LG_BUILD (default: <repo>/build): lengthguard and
lg-origin; $LG_PROXY and $LG_ORIGIN override each path. Everything runs on
loopback; every wait is bounded and waits on a port or a log line, never on a
sleep.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

REPO = os.environ.get("LG_SOURCE") or \
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("LG_BUILD") or os.path.join(REPO, "build")
PROXY_BIN = os.environ.get("LG_PROXY") or os.path.join(BUILD, "lengthguard")
ORIGIN_BIN = os.environ.get("LG_ORIGIN") or os.path.join(BUILD, "lg-origin")
PAGES_DIR = os.path.join(REPO, "pages")
CONF_DIR = os.path.join(REPO, "conf")

START_TIMEOUT = 10.0    # for a process to print its "listening on" line
IO_TIMEOUT = 10.0       # for one response
STOP_TIMEOUT = 10.0     # for a process to exit after a signal

HELLO = b"hello from the lengthguard demo origin\n"

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
FNV_MASK = (1 << 64) - 1


def fnv1a64(data, h=FNV_OFFSET):
    """FNV-1a 64 of data (bytes), as lg-origin computes it."""
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & FNV_MASK
    return h


def origin_reply(method, target, body):
    """The body lg-origin answers to a request carrying `body`."""
    return b"%s %s received %d bytes fnv1a64=%016x\n" % (
        method.encode(), target.encode(), len(body), fnv1a64(body))


def free_port():
    """A loopback TCP port nothing listens on (bind port 0, then release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(proc, port, timeout=START_TIMEOUT):
    """Wait until something accepts on 127.0.0.1:port, or proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1.0).close()
            return
        except OSError:
            pass
        if proc.wait(0.05) is not None:     # bounded; ends early on exit
            break
    raise AssertionError("%s: nothing accepts on port %d (%s); output:\n%s"
                         % (proc.name, port, "running" if proc.alive() else
                            "exited with %s" % proc.proc.returncode,
                            proc.log.tail()))


def short(data, limit=600):
    """repr of bytes, cut in the middle when long (for failure messages)."""
    if len(data) <= limit:
        return repr(data)
    return "%r ... (%d bytes) ... %r" % (data[:limit // 2], len(data),
                                         data[-limit // 4:])


# ---------------------------------------------------------------- processes

class LineLog:
    """Collects the lines of a pipe in a thread; waits for lines."""

    def __init__(self, pipe, name):
        self.name = name
        self._lines = []
        self._cond = threading.Condition()
        self._eof = False
        self._thread = threading.Thread(target=self._run, args=(pipe,),
                                        name="log-" + name, daemon=True)
        self._thread.start()

    def _run(self, pipe):
        try:
            for raw in iter(pipe.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._cond:
                    self._lines.append(line)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def lines(self):
        with self._cond:
            return list(self._lines)

    def mark(self):
        """Index of the next line: wait_for(..., since=mark()) sees only newer."""
        with self._cond:
            return len(self._lines)

    def wait_for(self, pattern, timeout=START_TIMEOUT, since=0):
        """First line from `since` on matching the regex `pattern`, waiting up
        to `timeout` s. Returns the match, or None on timeout or EOF."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            i = since
            while True:
                while i < len(self._lines):
                    m = rx.search(self._lines[i])
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cond.wait(left)

    def join(self, timeout):
        self._thread.join(timeout)

    def tail(self, n=40):
        lines = self.lines()
        return "\n".join("  %s| %s" % (self.name, l) for l in lines[-n:])


class Process:
    """A subprocess whose stdout and stderr (merged) are collected as lines.
    preexec_fn runs in the child before exec (e.g. to set an rlimit)."""

    def __init__(self, name, argv, env=None, preexec_fn=None):
        self.name = name
        self.argv = argv
        if not os.access(argv[0], os.X_OK):
            raise FileNotFoundError(
                "%s: %s is not built (set LG_BUILD, or LG_PROXY / LG_ORIGIN)"
                % (name, argv[0]))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=preexec_fn)
        self.log = LineLog(self.proc.stdout, name)
        self.signalled = False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def wait_line(self, pattern, timeout=START_TIMEOUT, since=0):
        m = self.log.wait_for(pattern, timeout, since)
        if m is None:
            raise AssertionError(
                "%s: no line matching %r within %.1f s (%s); output:\n%s"
                % (self.name, pattern, timeout,
                   "running" if self.alive() else
                   "exited with %s" % self.proc.returncode, self.log.tail()))
        return m

    def send_signal(self, sig):
        self.signalled = True
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        """Exit status, or None if still running after `timeout` s."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signal, wait, then SIGKILL. Returns the exit status."""
        if self.alive():
            self.send_signal(sig)
            if self.wait(timeout) is None:
                self.proc.kill()
                self.proc.wait(5)
        self.log.join(2)
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        return self.proc.returncode


REQ_RX = re.compile(r"^origin: (\S+) (\S+) len=(\d+) conn=(\d+)$")


class Origin(Process):
    """lg-origin -v on a loopback port it chooses itself."""

    def __init__(self):
        super().__init__("origin", [ORIGIN_BIN, "-l", "127.0.0.1:0", "-v"])
        self.port = None

    def ready(self):
        m = self.wait_line(r"origin listening on 127\.0\.0\.1:(\d+)")
        self.port = int(m.group(1))
        return self

    def requests(self):
        """[(method, target, len, conn)] in the order the origin read them."""
        out = []
        for line in self.log.lines():
            m = REQ_RX.match(line)
            if m:
                out.append((m.group(1), m.group(2), int(m.group(3)),
                            int(m.group(4))))
        return out

    def connections(self):
        """How many connections the origin accepted."""
        return sum(1 for l in self.log.lines() if l.startswith("origin: open conn="))

    def chunked_seen(self):
        return any("CHUNKED-SEEN" in l for l in self.log.lines())

    def wait_request(self, target, timeout=IO_TIMEOUT):
        """Wait until the origin has logged a request for `target`."""
        return self.wait_line(r"^origin: \S+ %s len=" % re.escape(target),
                              timeout)


# As root, lengthguard refuses to start without [proxy] user. The tests
# reload confs from and reopen logs in their private (0700) temporary
# directories, which only root can read: they run as root on purpose
# (test_cli.py checks the drop to another user).
RUN_AS = "root" if os.geteuid() == 0 else None

SECTIONS = ("proxy", "policy", "limits", "timeouts", "pages", "log")


def write_conf(path, settings, extra=""):
    """Write an INI conf: settings maps section -> {key: value or [values]};
    a value of None leaves the key out. `extra` is appended verbatim."""
    out = []
    for sec in list(SECTIONS) + [s for s in settings if s not in SECTIONS]:
        keys = settings.get(sec)
        if not keys:
            continue
        out.append("[%s]" % sec)
        for k, v in keys.items():
            if v is None:
                continue
            for one in (v if isinstance(v, (list, tuple)) else [v]):
                out.append("%s = %s" % (k, one))
        out.append("")
    with open(path, "w") as f:
        f.write("\n".join(out) + extra)


def merge(base, over):
    res = {s: dict(k) for s, k in base.items()}
    for s, keys in (over or {}).items():
        res.setdefault(s, {}).update(keys)
    return res


class Proxy(Process):
    """lengthguard -c CONF on a free loopback port, upstream = origin_port.

    overrides: {section: {key: value}} on top of the base conf below;
    preexec_fn as for Process."""

    def __init__(self, upstream_port, overrides=None, tmpdir=None,
                 preexec_fn=None):
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="lg-e2e-")
        self.port = free_port()
        self.settings = merge({
            "proxy": {"listen": "127.0.0.1:%d" % self.port,
                      "upstream": "127.0.0.1:%d" % upstream_port,
                      "workers": "1", "user": RUN_AS},
            "timeouts": {"shutdown": "3s"},
            "pages": {"dir": PAGES_DIR},
            "log": {"access": "stderr", "error": "stderr", "level": "info"},
        }, overrides)
        self.conf = os.path.join(self.tmpdir, "lengthguard.conf")
        write_conf(self.conf, self.settings)
        super().__init__("proxy", [PROXY_BIN, "-c", self.conf],
                         preexec_fn=preexec_fn)

    def ready(self):
        self.wait_line(r"listening on")
        return self


def run_proxy_cmd(args, timeout=10):
    """Run lengthguard with args to completion: (status, stdout, stderr)."""
    if not os.access(PROXY_BIN, os.X_OK):
        raise FileNotFoundError("%s is not built" % PROXY_BIN)
    p = subprocess.run([PROXY_BIN] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# ---------------------------------------------------------------- client

class Response:
    def __init__(self, version, status, reason, headers, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # [(name, value)] as received
        self.raw_head = raw_head
        self.body = b""
        self.interim = []               # 1xx responses before this one
        self.framing = None             # "length", "chunked", "close", "none"

    def header(self, name):
        """The value of the last field `name` (case-insensitive), or None."""
        name = name.lower()
        val = None
        for k, v in self.headers:
            if k.lower() == name:
                val = v
        return val

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_token(self, name, token):
        """Does the list field `name` contain `token` (case-insensitive)?"""
        for v in self.header_all(name):
            if token.lower() in [t.strip().lower() for t in v.split(",")]:
                return True
        return False

    def __repr__(self):
        return "<Response %d, head %r, body %s>" % (
            self.status, self.raw_head, short(self.body))


class ProtocolError(AssertionError):
    pass


class Client:
    """One client connection with a receive buffer, so that pipelined
    responses can be read one by one. Every socket op has a timeout."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False
        self.received = b""             # everything ever received (for messages)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def _fill(self, deadline):
        """Receive more bytes into buf. False on EOF (or reset)."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProtocolError("timed out; received so far: %s"
                                % short(self.received))
        self.sock.settimeout(min(left, self.timeout))
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise ProtocolError("timed out after %.1f s; received so far: %s"
                                % (self.timeout, short(self.received)))
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        self.received += data
        return True

    def _need(self, n, deadline, what):
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise ProtocolError("EOF in %s (%d of %d bytes); received: %s"
                                    % (what, len(self.buf), n,
                                       short(self.received)))

    def _line(self, deadline, what):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            if len(self.buf) > 1 << 20:
                raise ProtocolError("no CRLF in 1 MiB of %s" % what)
            if not self._fill(deadline):
                raise ProtocolError("EOF in %s; received: %s"
                                    % (what, short(self.received)))

    def read_head(self, deadline):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if not self._fill(deadline):
                raise ProtocolError("EOF before a complete response head; "
                                    "received: %s" % short(self.received))
        raw, self.buf = self.buf[:i + 4], self.buf[i + 4:]
        lines = raw[:-4].split(b"\r\n")
        m = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise ProtocolError("bad status line %r; received: %s"
                                % (lines[0], short(self.received)))
        headers = []
        for l in lines[1:]:
            if b":" not in l or l[:1] in (b" ", b"\t"):
                raise ProtocolError("bad header line %r in %r" % (l, raw))
            k, v = l.split(b":", 1)
            headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        return Response(m.group(1).decode(), int(m.group(2)),
                        (m.group(3) or b"").decode("latin-1"), headers, raw)

    def read_response(self, method="GET", stop_at_interim=False,
                      timeout=None):
        """Read one response. 1xx responses are collected in .interim and
        skipped, unless stop_at_interim (then the 1xx is returned). The body
        is framed by Content-Length, chunked, or the connection's close."""
        deadline = time.monotonic() + (timeout or self.timeout)
        interim = []
        while True:
            r = self.read_head(deadline)
            if 100 <= r.status < 200:
                if stop_at_interim:
                    return r
                interim.append(r)
                continue
            break
        r.interim = interim
        te = r.header_all("transfer-encoding")
        cl = r.header_all("content-length")
        if method == "HEAD" or r.status in (204, 304):
            r.framing = "none"
        elif te:
            if not r.has_token("transfer-encoding", "chunked"):
                raise ProtocolError("unsupported Transfer-Encoding %r" % te)
            r.framing = "chunked"
            body = []
            while True:
                size_line = self._line(deadline, "chunk size")
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ProtocolError("bad chunk size line %r; received: %s"
                                        % (size_line, short(self.received)))
                if size == 0:
                    while self._line(deadline, "trailers"):
                        pass
                    break
                self._need(size + 2, deadline, "chunk")
                body.append(self.buf[:size])
                if self.buf[size:size + 2] != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF: %s"
                                        % short(self.received))
                self.buf = self.buf[size + 2:]
            r.body = b"".join(body)
        elif cl:
            if len(cl) != 1 or not cl[0].isdigit():
                raise ProtocolError("bad Content-Length %r in %r" % (cl, r.raw_head))
            n = int(cl[0])
            self._need(n, deadline, "body of %r" % r.raw_head)
            r.body, self.buf = self.buf[:n], self.buf[n:]
            r.framing = "length"
        else:
            r.framing = "close"
            while self._fill(deadline):
                pass
            r.body, self.buf = self.buf, b""
        return r

    def read_until_eof(self, timeout=5.0):
        """Everything until the peer closes (the buffered bytes included).
        Raises ProtocolError if the connection is still open after timeout."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        data, self.buf = self.buf, b""
        return data

    def at_eof(self, timeout=5.0):
        """True if the peer closes within timeout with nothing more sent;
        False if bytes arrive (they stay in buf) or it stays open."""
        deadline = time.monotonic() + timeout
        if self.buf:
            return False
        try:
            return not self._fill(deadline)
        except ProtocolError:
            return False

    def request(self, method, target, headers=(), body=b"", host="test"):
        """Send one request with Content-Length when there is a body (or
        the method usually has one) and read the response."""
        self.send(build_request(method, target, headers, body, host))
        return self.read_response(method)


def build_request(method, target, headers=(), body=None, host="test",
                  version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    names = [h[0].lower() for h in headers]
    lines += ["%s: %s" % h for h in headers]
    if body is not None and "content-length" not in names and \
            "transfer-encoding" not in names and \
            (body or method in ("POST", "PUT", "PATCH")):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


# ---------------------------------------------------------------- test base

def _test_failed(case):
    outcome = getattr(case, "_outcome", None)
    if outcome is None:
        return False
    if hasattr(outcome, "errors"):              # Python < 3.11
        return any(exc for _, exc in outcome.errors)
    res = outcome.result                        # 3.11+: reported at once
    return any(t is case for t, _ in res.failures + res.errors)


class E2ECase(unittest.TestCase):
    """Starts processes through start_origin/start_proxy, always stops them
    (subclasses that override setUp must call super().setUp() first),
    and prints their output when a test fails (or LG_E2E_VERBOSE is set)."""

    def setUp(self):
        self.procs = []
        self.clients = []
        self.tmpdir = tempfile.mkdtemp(prefix="lg-e2e-")
        self.addCleanup(shutil.rmtree, self.tmpdir, True)
        # a cleanup, not tearDown: it also runs when setUp fails half way
        self.addCleanup(self._stop_all)

    def _stop_all(self):
        died = self.dead()
        for c in self.clients:      # first, so that a graceful stop is quick
            c.close()
        for p in reversed(self.procs):
            p.stop(timeout=3.0)
        if _test_failed(self) or died or os.environ.get("LG_E2E_VERBOSE"):
            sys.stderr.write("\n--- %s\n" % self.id())
            for p in self.procs:
                sys.stderr.write("%s\n" % p.log.tail(60))
        if died:
            self.fail("; ".join(died))

    def start_origin(self):
        o = Origin()
        self.procs.append(o)        # stopped at cleanup even if not ready
        return o.ready()

    def start_proxy(self, upstream_port, overrides=None, preexec_fn=None):
        p = Proxy(upstream_port, overrides, self.tmpdir, preexec_fn)
        self.procs.append(p)
        return p.ready()

    def dead(self):
        """Descriptions of the processes that exited without being told to."""
        return ["%s exited on its own with status %s" % (p.name, p.proc.returncode)
                for p in self.procs if not p.signalled and not p.alive()]

    def client(self, port, timeout=IO_TIMEOUT):
        try:
            c = Client(port, timeout=timeout)
        except OSError as e:        # refused, reset: say if a process died
            for p in self.procs:
                if not p.signalled:
                    p.wait(1.0)     # a crash may be under way
            raise AssertionError("connect to port %d: %s%s" % (
                port, e, "".join("; " + d for d in self.dead()))) from None
        self.clients.append(c)
        return c


class ProxyCase(E2ECase):
    """An origin and a proxy in front of it; `overrides` changes the conf."""

    overrides = None

    def setUp(self):
        super().setUp()
        self.origin = self.start_origin()
        self.proxy = self.start_proxy(self.origin.port, self.overrides)

    def assert_closed(self, c, what):
        """The proxy closes the connection with nothing more sent."""
        try:
            rest = c.read_until_eof(5.0)
        except AssertionError as e:
            self.fail("%s: the proxy did not close the connection: %s"
                      % (what, e))
        self.assertEqual(rest, b"", "%s: bytes after the response" % what)

    def assert_origin_untouched(self):
        """Nothing reached the origin: a sentinel request sent now is the
        only request and the only connection the origin has seen."""
        tag = "/sentinel-%d" % random.randrange(1 << 30)
        c = self.client(self.proxy.port)
        r = c.request("GET", tag)
        self.assertEqual(r.status, 200, r)
        self.origin.wait_request(tag)       # every earlier line is in by now
        reqs = self.origin.requests()
        self.assertEqual([q[1] for q in reqs], [tag],
                         "the origin saw other requests: %r" % (reqs,))
        self.assertFalse(self.origin.chunked_seen(), "the origin saw chunked")
        self.assertEqual(self.origin.connections(), 1,
                         "the origin accepted other connections:\n%s"
                         % self.origin.log.tail())


class ThreadedOrigin:
    """The base of the tests' own loopback origins: a listener on
    127.0.0.1 (port chosen at run time) whose accepting thread counts the
    connections (.connections, .cond notified) and serves each in a
    thread of its own with self._serve(sock, nth), nth from 1. stop()
    closes the listener and every connection."""

    def __init__(self, backlog=64):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(backlog)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.connections = 0
        self.cond = threading.Condition()
        self.stopping = False
        self.socks = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cond:
                self.connections += 1
                n = self.connections
                self.cond.notify_all()
            self.socks.append(s)
            threading.Thread(target=self._serve, args=(s, n),
                             daemon=True).start()

    def _serve(self, s, conn):
        raise NotImplementedError

    @staticmethod
    def read_head(s, buf):
        """Read from s until buf holds a whole head (at most 64 KiB):
        (head without its empty line, what follows it), or None when the
        connection ends first."""
        while b"\r\n\r\n" not in buf:
            data = s.recv(65536)
            if not data or len(buf) > 65536:
                return None
            buf += data
        head, _, rest = buf.partition(b"\r\n\r\n")
        return head, rest

    def wait_seen(self, n, timeout=IO_TIMEOUT):
        """The requests seen (.seen, appended under .cond, notified), once
        there are n of them (or at timeout)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.seen) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.seen)

    def stop(self):
        self.stopping = True
        try:
            self.lsock.close()
        except OSError:
            pass
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        self.thread.join(2)


class ScriptedOrigin(ThreadedOrigin):
    """A loopback origin whose answers a test scripts, for upstream
    behaviour lg-origin does not have (stray bytes, unsolicited responses,
    interim responses...). Each request (head, then a Content-Length body)
    is handed to script(conn, nth, method, target, body), numbered per
    connection from 1; it returns a list of steps: bytes to send (each in
    its own send), a float to wait that many seconds before the next step,
    a callable to call (to tell the test a step is done), or None to close
    the connection. Requests are recorded in .seen as
    (conn, nth, method, target, body, head), head without its empty line. on_head(conn, nth, method, target),
    if given, returns steps run once a head is read, before its body."""

    def __init__(self, script, on_head=None):
        self.script = script
        self.on_head = on_head
        self.seen = []
        super().__init__()

    def _serve(self, s, conn):
        s.settimeout(IO_TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        nth = 0
        try:
            while not self.stopping:
                got = self.read_head(s, buf)
                if got is None:
                    return
                head, buf = got
                method, target = head.split(b" ")[:2]
                m = re.search(rb"(?im)^content-length:[ \t]*(\d+)", head)
                n = int(m.group(1)) if m else 0
                nth += 1
                if self.on_head and not self._run(s, self.on_head(
                        conn, nth, method.decode(), target.decode())):
                    return
                while len(buf) < n:
                    data = s.recv(1 << 20)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:n], buf[n:]
                with self.cond:
                    self.seen.append((conn, nth, method.decode(),
                                      target.decode(), body, head))
                    self.cond.notify_all()
                if not self._run(s, self.script(conn, nth, method.decode(),
                                                target.decode(), body)):
                    return
        except OSError:
            pass
        finally:
            s.close()

    @staticmethod
    def _run(s, steps):
        """Run a script's steps; False when one closes the connection."""
        for step in steps:
            if step is None:
                return False
            if isinstance(step, float):
                time.sleep(step)    # the script's pacing, not a wait
            elif callable(step):
                step()
            else:
                s.sendall(step)
        return True



def http_response(body, status="200 OK", fields=()):
    """An HTTP/1.1 response with a Content-Length."""
    head = "HTTP/1.1 %s\r\n" % status
    head += "".join("%s: %s\r\n" % f for f in fields)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode("latin-1") + body
