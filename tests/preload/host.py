#!/usr/bin/env python3
"""host.py - small servers for the preload tests, each in the style of a
real one, on a loopback port they choose ("listening on PORT" once bound):

  poll       single thread, non-blocking sockets, level-triggered poll
  poll-1     the same, reading one byte per readiness (poll before each)
  epoll-lt   the same with epoll, level-triggered
  epoll-et   epoll, edge-triggered, and reading once per event (a host
             that trusts a short read to mean "nothing more queued")
  poll-slow, epoll-lt-slow, epoll-et-slow
             the same, answering each request with a large body (60000
             bytes; chunked for targets that start with /chunk, after a
             100 Continue for /interim, delimited by the close of the
             connection for /close) in several writes, a pause of
             SLOW_PAUSE (HOST_SLOW_PAUSE seconds if set) before each but
             the first; a read side's end reported during it (POLLRDHUP)
             is taken for the client gone away, as nginx does when it
             proxies: "host: client gone", the response is cut and the
             connection closed
  rcvtimeo   a thread per connection, blocking sockets with SO_RCVTIMEO
  peek       a thread per connection, blocking: each read is a recv(MSG_PEEK)
             of up to 100 bytes, then a recv of what it showed (which must
             be the same bytes: "host: peek mismatch" if not)
  scatter    a thread per connection, blocking, reading with recvmsg into
             three buffers of 7 bytes
  residue    a thread per connection, blocking, reading with recv_into a
             buffer filled with 0xaa first: "host: residue" if, after a
             read of N bytes, the buffer holds past N anything but 0xaa
             or zeros (a byte the read did not give the host)
  empty-iov  a thread per connection, blocking, reading with readv into
             64 empty buffers and then one of BUF bytes
  empty-iov-msg
             the same with recvmsg_into
  mmsg       a thread per connection, blocking, reading with recvmmsg
             (one message of BUF bytes)
  names      a thread per connection, blocking, reading one byte per
             read, with recvfrom and recvmsg (a control buffer of 64
             bytes) in turn: "host: name" if a read gives an address, a
             control message or a flag (a TCP socket's reads give none)
  closerange, fclose, freopen
             one connection at a time, one request each, blocking; the
             connection is then closed with os.closerange, or with
             fclose of a FILE fdopen'ed on it (libc's fclose closes the
             descriptor itself), and a pipe that gets its number carries
             PIPE_LINE; or the FILE is freopen'ed on a file that holds
             PIPE_LINE (libc puts it on the same number): "host: pipe ok"
             if PIPE_LINE reads back whole, else "host: pipe" and what
             went wrong
  trunc      a thread per connection, blocking, reading heads with recv
             and dropping the body bytes a head's read did not bring with
             recv(NULL, n, MSG_TRUNC), as HAProxy drains a connection
             ("host: trunc ERRNO" if that fails); a POST is answered as
             if its body were empty
  spawn      a thread per connection, blocking, that first runs "true"
             with the connection as its stdin (Python's subprocess: a
             vfork, whose child dup2s it onto fd 0, then closes every
             descriptor above 2, in the parent's memory), then reads its
             own stdin ("host: stdin ERRNO" if that fails) and serves it
  prefork    accepts, forks; the child serves the connection, blocking
  forklock   a thread blocks in a read of a connection while the main
             thread forks; the child then reads the same connection
  dontwait   one connection: a thread blocks in a read of it (the client
             sent part of a head), then the main thread reads it with
             MSG_DONTWAIT: "host: dontwait EAGAIN" (or "data") once that
             returns
  lockwait   one connection: a thread blocks in a read of it (the client
             sent part of a head), then the main thread reads it blocking,
             with SO_RCVTIMEO of 0.3 s ("host: lockwait rcvtimeo ERRNO
             SECONDS" once that returns), then without it, until a signal
             whose handler raises ends the read ("host: lockwait signal
             SECONDS"; SIGUSR1 to the main thread after 0.3 s)
  closeread  a thread blocks in a read of a connection (the client sent
             part of a head) while the main thread closes it ("host:
             closeread closed"), accepts the next one ("host: closeread
             fd1=N fd2=M": the numbers) and serves it, blocking; the first
             read's end is logged ("host: closeread old read N")
  dup2       the connection is put on fd 0 (dup2) and read from there
  inetd      an inetd: each connection is the stdin and stdout of a new
             "inetd-child" process, run with HOST_CHILD_PRELOAD as its
             LD_PRELOAD (the inetd itself runs unguarded)

A request is answered 200 with "hello\\n" (GET; a HEAD gets the same head
and no body) or the sha256 of its Content-Length body (POST), except that
a target that starts with /garbage is answered with NOT_A_RESPONSE and one
that starts with /badlength with BAD_LENGTH (bytes the guard's parser of
the host's answers cannot follow); each one received is logged as "host:
METHOD TARGET te=... len=N". The slow modes log "host: sent TARGET len=N
sha256=..." (of the body) once a response is written whole. The event
loops log "host: eof" when a read returns 0, then poll the descriptor once
more (3 s at most) and log "host: after eof readable=0|1" before closing
it; they log "host: read N" for each read that returns N > 0 bytes (but
poll-1) and "host: eagain" for each that finds nothing. Requests to /exec
in inetd-child read their head only and exec "cgi", which reads the body
from fd 0 (a CGI whose stdin is the client's socket).
"""

import ctypes
import errno
import hashlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

BUF = 65536
SLOW_LEN = 60000
SLOW_PAUSE = float(os.environ.get("HOST_SLOW_PAUSE") or "0.05")
# answers that do not parse as an HTTP response: not one at all, and a head
# whose Content-Length is no number (RFC 9110 §8.6)
NOT_A_RESPONSE = b"this is not an HTTP response\r\n\r\n"
BAD_LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: six\r\n\r\nhello\n"
# what a pipe carries after a connection on its number was closed: no
# request of a client's
PIPE_LINE = b"not a request at all\r\n\r\n"


def log(*a):
    # one write(2) per line: a parent and its forked child share the pipe,
    # and print() may write a line in pieces that then interleave
    line = " ".join(["host:"] + [str(x) for x in a]) + "\n"
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), line.encode())


def parse_head(head):
    """(method, target, transfer-encoding, content-length) of a head."""
    lines = head.decode("latin-1").split("\r\n")
    method, target = lines[0].split(" ")[:2]
    fields = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        fields[k.strip().lower()] = v.strip()
    return (method, target, fields.get("transfer-encoding"),
            int(fields.get("content-length") or "0"))


def parse(buf):
    """(method, target, te, body, rest) of the first complete request in
    buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    method, target, te, n = parse_head(buf[:end])
    start = end + 4
    if len(buf) < start + n:
        return None
    return method, target, te, buf[start:start + n], buf[start + n:]


def answer(method, target, te, body):
    log("%s %s te=%s len=%d" % (method, target, te, len(body)))
    if target.startswith("/garbage"):
        return NOT_A_RESPONSE
    if target.startswith("/badlength"):
        return BAD_LENGTH
    out = (hashlib.sha256(body).hexdigest() + "\n").encode() \
        if method == "POST" else b"hello\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out)
    # RFC 9110 §9.3.2: the head a GET would get, no content
    return head if method == "HEAD" else head + out


def serve_all(buf, send):
    """Answer every complete request in buf; return what is left."""
    while True:
        r = parse(buf)
        if r is None:
            return buf
        send(answer(*r[:4]))
        buf = r[4]


def slow_pieces(method, target):
    """(the pieces of the slow modes' response, its body)."""
    body = hashlib.sha256(target.encode()).digest() * (SLOW_LEN // 32)
    third = len(body) // 3
    parts = [body[:third], body[third:2 * third], body[2 * third:]]
    if target.startswith("/chunk"):
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return [head] + [b"%x\r\n%s\r\n" % (len(x), x) for x in parts] + \
            [b"0\r\n\r\n"], body
    if target.startswith("/close"):
        return [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"] + parts, \
            body
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
    if method == "HEAD":
        return [head[:10], head[10:30], head[30:]], b""
    if target.startswith("/interim"):
        return [b"HTTP/1.1 100 Continue\r\n\r\n", head] + parts, body
    return [head] + parts, body


def slow_answer(c, method, target, te, body):
    """Write the response in pieces; False if the read side's end was
    reported during it (the client gone away: the rest is not written)."""
    log("%s %s te=%s len=%d" % (method, target, te, len(body)))
    pieces, out = slow_pieces(method, target)
    p = select.poll()
    p.register(c.fileno(), select.POLLRDHUP)
    c.settimeout(5)
    try:
        for i, piece in enumerate(pieces):
            # the pause: a wait for the end of the read side, bounded
            if i > 0 and p.poll(int(SLOW_PAUSE * 1000)):
                log("client gone")
                return False
            c.sendall(piece)
    finally:
        c.setblocking(False)
    log("sent %s len=%d sha256=%s" % (target, len(out),
                                      hashlib.sha256(out).hexdigest()))
    return True


def serve_slow(c, buf):
    """serve_all for the slow modes; None once the client is gone."""
    while True:
        r = parse(buf)
        if r is None:
            return buf
        if not slow_answer(c, *r[:4]) or r[1].startswith("/close"):
            return None
        buf = r[4]


def listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(os.environ.get("HOST_PORT", "0"))))
    s.listen(64)
    print("listening on %d" % s.getsockname()[1], flush=True)
    return s


def after_eof(fd):
    p = select.poll()
    p.register(fd, select.POLLIN)
    log("after eof readable=%d" % (1 if p.poll(3000) else 0))


def event_loop(kind):
    slow = kind.endswith("-slow")
    kind = kind[:-len("-slow")] if slow else kind
    lsn = listener()
    lsn.setblocking(False)
    conns = {}
    size = 1 if kind == "poll-1" else BUF
    if kind in ("poll", "poll-1"):
        p = select.poll()
        add = lambda fd: p.register(fd, select.POLLIN)     # noqa: E731
        drop = p.unregister
        wait = lambda: p.poll()                            # noqa: E731
    else:
        p = select.epoll()
        et = select.EPOLLET if kind == "epoll-et" else 0
        add = lambda fd: p.register(fd, select.EPOLLIN | et)  # noqa: E731
        drop = p.unregister
        wait = lambda: p.poll()                            # noqa: E731
    p.register(lsn.fileno(), select.POLLIN)
    while True:
        for fd, _ in wait():
            if fd == lsn.fileno():
                try:
                    c, _ = lsn.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                conns[c.fileno()] = [c, b""]
                add(c.fileno())
                continue
            c, buf = conns[fd]
            try:
                data = c.recv(size)
            except BlockingIOError:
                log("eagain")
                continue
            if data and size > 1:
                log("read %d" % len(data))
            if data == b"":
                log("eof")
                drop(fd)
                after_eof(fd)
                del conns[fd]
                c.close()
                continue
            if not slow:
                conns[fd][1] = serve_all(buf + data, c.sendall)
                continue
            conns[fd][1] = serve_slow(c, buf + data)
            if conns[fd][1] is None:
                drop(fd)
                del conns[fd]
                c.close()


def peek_then_read(c):
    shown = c.recv(100, socket.MSG_PEEK)
    data = c.recv(len(shown)) if shown else b""
    if data != shown:
        log("peek mismatch")
    return data


def scatter_read(c):
    bufs = [bytearray(7) for _ in range(3)]
    n = c.recvmsg_into(bufs)[0]
    return b"".join(bufs)[:n]


def residue_read(c):
    buf = bytearray(b"\xaa" * BUF)
    n = c.recv_into(buf)
    if bytes(buf[n:]).translate(None, b"\x00\xaa"):
        log("residue")
    return bytes(buf[:n])


def empty_iov_read(c):
    buf = bytearray(BUF)
    n = os.readv(c.fileno(), [bytearray(0)] * 64 + [buf])
    return bytes(buf[:n])


def empty_iov_msg_read(c):
    buf = bytearray(BUF)
    n = c.recvmsg_into([bytearray(0)] * 64 + [buf])[0]
    return bytes(buf[:n])


class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint),
                ("iov", ctypes.POINTER(Iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", Msghdr), ("len", ctypes.c_uint)]


def mmsg_read(c):
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(BUF)
    v = Iovec(ctypes.cast(buf, ctypes.c_void_p), BUF)
    m = Mmsghdr()
    m.hdr.iov = ctypes.pointer(v)
    m.hdr.iovlen = 1
    if libc.recvmmsg(c.fileno(), ctypes.byref(m), 1, 0, None) != 1:
        raise OSError(ctypes.get_errno(), "recvmmsg")
    return buf.raw[:m.len]


def names_read(c, turn=[0]):
    turn[0] += 1
    if turn[0] % 2:
        data, addr = c.recvfrom(1)
        anc, flags = [], 0
    else:
        data, anc, flags, addr = c.recvmsg(1, 64)
    if data and (addr is not None or anc or flags):
        log("name")
    return data


def serve_blocking(c, read=lambda c: c.recv(BUF)):
    buf = b""
    while True:
        try:
            data = read(c)
        except BlockingIOError:
            log("rcvtimeo")
            break
        except InterruptedError:
            log("eintr")
            break
        if not data:
            log("eof")
            break
        buf = serve_all(buf + data, c.sendall)
    c.close()


def closer(how):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fdopen.restype = ctypes.c_void_p
    libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.freopen.restype = ctypes.c_void_p
    libc.freopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                             ctypes.c_void_p]
    libc.fileno.argtypes = [ctypes.c_void_p]
    lsn = listener()
    while True:
        c, _ = lsn.accept()
        buf = b""
        while parse(buf) is None:
            data = c.recv(BUF)
            if not data:
                break
            buf += data
        serve_all(buf, c.sendall)
        fd = c.detach()
        f = None
        if how == "closerange":
            os.closerange(fd, fd + 1)
        elif how == "fclose":
            libc.fclose(libc.fdopen(fd, b"r+"))
        else:
            path = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                "host-freopen-%d" % os.getpid())
            with open(path, "wb") as out:
                out.write(PIPE_LINE)
            f = libc.freopen(path.encode(), b"r", libc.fdopen(fd, b"r+"))
            os.unlink(path)
        if f is None:
            r, w = os.pipe()
            os.write(w, PIPE_LINE)
        else:
            r, w = libc.fileno(f), None
        try:
            got = os.read(r, len(PIPE_LINE))
            log("pipe", "ok" if got == PIPE_LINE and r == fd else
                "read %r on fd %d (was %d)" % (got, r, fd))
        except OSError as e:
            log("pipe", errno.errorcode.get(e.errno, e.errno))
        if f is None:
            os.close(r)
            os.close(w)
        else:
            libc.fclose(f)


def trunc_serve(c):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                          ctypes.c_int]
    libc.recv.restype = ctypes.c_ssize_t
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            data = c.recv(BUF)
            if not data:
                log("eof")
                break
            buf += data
            continue
        method, target, te, n = parse_head(buf[:end])
        buf = buf[end + 4:]
        left = n - min(n, len(buf))
        buf = buf[n - left:]
        while left > 0:
            r = libc.recv(c.fileno(), None, left, socket.MSG_TRUNC)
            if r <= 0:
                log("trunc", errno.errorcode.get(ctypes.get_errno(), r))
                c.close()
                return
            left -= r
        c.sendall(answer(method, target, te, b""))
    c.close()


def rcvtimeo():
    lsn = listener()
    while True:
        c, _ = lsn.accept()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                     struct.pack("ll", 0, 300000))
        threading.Thread(target=serve_blocking, args=(c,), daemon=True).start()


def threaded(read):
    lsn = listener()
    while True:
        c, _ = lsn.accept()
        threading.Thread(target=serve_blocking, args=(c, read),
                         daemon=True).start()


def spawn_serve(c):
    subprocess.run(["true"], stdin=c.fileno(), check=True)
    try:
        os.read(0, 1)   # the host's own stdin (/dev/null): no connection
    except OSError as e:
        log("stdin", errno.errorcode.get(e.errno, e.errno))
    serve_blocking(c)


def threaded_serve(serve):
    lsn = listener()
    while True:
        c, _ = lsn.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def prefork():
    lsn = listener()
    while True:
        c, _ = lsn.accept()
        pid = os.fork()
        if pid == 0:
            lsn.close()
            serve_blocking(c)
            os._exit(0)
        c.close()
        os.waitpid(-1, os.WNOHANG)


def in_syscall(tid):
    """Is thread tid blocked in a system call (not running)?"""
    try:
        with open("/proc/self/task/%d/syscall" % tid) as f:
            return f.read().split()[0] not in ("running", "-1")
    except OSError:
        return False


def blocked_reader(c):
    """A thread that reads c and blocks there (the client sent part of a
    head): returns once it is in the system call (or after 5 s)."""
    tids = []

    def reader():
        tids.append(threading.get_native_id())
        c.recv(BUF)

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + 5
    while (not tids or not in_syscall(tids[0])) and time.monotonic() < deadline:
        time.sleep(0.01)    # polling a condition, bounded


def forklock():
    lsn = listener()
    c, _ = lsn.accept()
    blocked_reader(c)
    pid = os.fork()
    if pid != 0:
        log("child %d" % pid)
    if pid == 0:
        try:
            c.recv(BUF, socket.MSG_DONTWAIT)
            log("child read data")
        except BlockingIOError:
            log("child read EAGAIN")
        os._exit(0)
    os.waitpid(pid, 0)
    log("child exited")
    time.sleep(60)


def dontwait():
    lsn = listener()
    c, _ = lsn.accept()
    blocked_reader(c)
    try:
        c.recv(BUF, socket.MSG_DONTWAIT)
        log("dontwait data")
    except BlockingIOError:
        log("dontwait EAGAIN")
    time.sleep(60)


def closeread():
    lsn = listener()
    c1, _ = lsn.accept()
    fd1 = c1.fileno()

    def reader():
        try:
            log("closeread old read %d" % len(c1.recv(BUF)))
        except OSError as e:
            log("closeread old read %s" % errno.errorcode.get(e.errno, e.errno))

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
            in_syscall(t.native_id) for t in threading.enumerate()
            if t is not threading.main_thread()):
        time.sleep(0.01)    # polling a condition, bounded
    c1.close()
    log("closeread closed")
    c2, _ = lsn.accept()
    log("closeread fd1=%d fd2=%d" % (fd1, c2.fileno()))
    serve_blocking(c2)
    time.sleep(60)


class Interrupted(Exception):
    pass


def lockwait():
    lsn = listener()
    c, _ = lsn.accept()
    blocked_reader(c)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                 struct.pack("ll", 0, 300000))
    t0 = time.monotonic()
    try:
        c.recv(BUF)
        what = "data"
    except OSError as e:
        what = errno.errorcode.get(e.errno, str(e.errno))
    log("lockwait rcvtimeo %s %.1f" % (what, time.monotonic() - t0))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))

    def interrupt(signum, frame):
        raise Interrupted()

    signal.signal(signal.SIGUSR1, interrupt)
    main = threading.main_thread().ident
    threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGUSR1)).start()
    t0 = time.monotonic()
    try:
        c.recv(BUF)
        log("lockwait signal data")
    except Interrupted:
        log("lockwait signal %.1f" % (time.monotonic() - t0))
    time.sleep(60)


def dup2():
    lsn = listener()
    while True:
        c, _ = lsn.accept()
        os.dup2(c.fileno(), 0)
        c.close()
        buf = b""
        while True:
            data = os.read(0, BUF)
            if not data:
                log("eof")
                break
            buf = serve_all(buf + data, lambda b: os.write(0, b))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)    # closes the connection, keeps fd 0 taken
        os.close(null)


def inetd():
    lsn = listener()
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if os.environ.get("HOST_CHILD_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["HOST_CHILD_PRELOAD"]
    while True:
        c, _ = lsn.accept()
        subprocess.Popen([sys.executable, os.path.abspath(__file__),
                          "inetd-child"], stdin=c.fileno(), stdout=c.fileno(),
                         env=env)
        c.close()


def inetd_child():
    sys.stdout = sys.stderr     # fd 1 is the socket; the log is stderr
    while True:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            data = os.read(0, 1)    # the head only: what follows is the body
            if not data:
                log("eof")
                return
            head += data
        method, target, te, n = parse_head(head[:-4])
        if target == "/exec":
            log("exec cgi for %d bytes" % n)
            os.execv(sys.executable, [sys.executable, os.path.abspath(__file__),
                                      "cgi", str(n)])
        os.write(1, answer(method, target, te, read_stdin(n)))


def read_stdin(n):
    """Up to n bytes of fd 0: fewer only at end of stream."""
    body = b""
    while len(body) < n:
        data = os.read(0, n - len(body))
        if not data:
            break
        body += data
    return body


def cgi(n):
    sys.stdout = sys.stderr
    body = read_stdin(n)
    log("cgi read %d sha256=%s" % (len(body), hashlib.sha256(body).hexdigest()))
    os.write(1, answer("POST", "/exec", None, body))


def main():
    mode = sys.argv[1]
    if mode in ("poll", "poll-1", "epoll-lt", "epoll-et", "poll-slow",
                "epoll-lt-slow", "epoll-et-slow"):
        event_loop(mode)
    elif mode == "cgi":
        cgi(int(sys.argv[2]))
    else:
        {"rcvtimeo": rcvtimeo, "prefork": prefork, "forklock": forklock,
         "dontwait": dontwait, "lockwait": lockwait,
         "closeread": closeread,
         "peek": lambda: threaded(peek_then_read),
         "scatter": lambda: threaded(scatter_read),
         "residue": lambda: threaded(residue_read),
         "empty-iov": lambda: threaded(empty_iov_read),
         "empty-iov-msg": lambda: threaded(empty_iov_msg_read),
         "names": lambda: threaded(names_read),
         "mmsg": lambda: threaded(mmsg_read),
         "trunc": lambda: threaded_serve(trunc_serve),
         "spawn": lambda: threaded_serve(spawn_serve),
         "closerange": lambda: closer("closerange"),
         "fclose": lambda: closer("fclose"),
         "freopen": lambda: closer("freopen"),
         "dup2": dup2, "inetd": inetd, "inetd-child": inetd_child}[mode]()


if __name__ == "__main__":
    main()
