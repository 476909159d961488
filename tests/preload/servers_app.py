#!/usr/bin/env python3
"""servers_app.py - the application behind every server of test_servers.py.

The same code runs as a WSGI callable (`application`: wsgiref, gunicorn),
as a CGI program (`cgi_main`: busybox httpd, lighttpd, Python's
CGIHTTPRequestHandler) and as the origin behind nginx (`serve`). For each
request it handles it appends one JSON line to its record file: method,
QUERY_STRING, Transfer-Encoding and Content-Length as it saw them, and the
body it read (length, sha256, first bytes). It answers 200 with
"hello\\n" to a GET and the body's sha256 (hex, then a newline) to
anything else, with a Content-Length. Under WSGI, a GET whose query has
big=N gets N bytes instead, in SLOW_PIECES writes with a pause of
SLOW_PAUSE before each but the first (a response its server writes on to
the client in pieces); their length and sha256 are in the record too
("out_len", "out_sha256").

A request with a Content-Length gets exactly that many bytes read. One
without reads nothing under WSGI (PEP 3333), unless the server sets
wsgi.input_terminated (then to the end); a CGI program reads what its
stdin gives within about a second (to see whether a server hands it a
chunked body, raw or decoded) and records it.

    servers_app.py serve RECORD   # a threaded wsgiref server on a free
                                  # loopback port: "listening on PORT"
    servers_app.py cgi-serve DIR  # http.server's CGI server on DIR
"""

import hashlib
import json
import os
import select
import sys
import time

RECORD_ENV = "LG_APP_RECORD"
RAW_WAIT = 1.0      # seconds a CGI waits for a body of no declared length
SLOW_PIECES = 3
SLOW_PAUSE = 0.1


def record(path, method, query, te, cl, body, out=None):
    rec = {"method": method, "query": query, "te": te, "cl": cl,
           "len": len(body), "sha256": hashlib.sha256(body).hexdigest(),
           "head": body[:40].decode("latin-1"), "pid": os.getpid()}
    if out is not None:
        rec.update(out_len=len(out),
                   out_sha256=hashlib.sha256(out).hexdigest())
    line = json.dumps(rec) + "\n"
    # one write with O_APPEND: lines from concurrent processes stay whole
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def answer(method, body):
    if method == "GET":
        return b"hello\n"
    return (hashlib.sha256(body).hexdigest() + "\n").encode()


def application(environ, start_response):
    """WSGI: the record file is $LG_APP_RECORD."""
    cl = environ.get("CONTENT_LENGTH") or None
    inp = environ["wsgi.input"]
    if cl is None and environ.get("wsgi.input_terminated"):
        # the server says reading to the end is safe (gunicorn: a
        # chunked body, decoded)
        body = inp.read()
    else:
        n = int(cl) if cl and cl.isdigit() else 0
        body = b""
        while len(body) < n:
            part = inp.read(n - len(body))
            if not part:
                break
            body += part
    method = environ["REQUEST_METHOD"]
    query = environ.get("QUERY_STRING", "")
    big = [int(x[4:]) for x in query.split("&")
           if x.startswith("big=") and x[4:].isdigit()]
    out = big_body(query, big[0]) if big and method == "GET" else None
    record(os.environ[RECORD_ENV], method, query,
           environ.get("HTTP_TRANSFER_ENCODING"), cl, body, out)
    if out is not None:
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(out)))])
        return slowly(out)
    out = answer(method, body)
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(out)))])
    return [out]


def big_body(query, n):
    block = hashlib.sha256(query.encode()).digest()
    return (block * (n // len(block) + 1))[:n]


def slowly(out):
    """out in SLOW_PIECES pieces, a pause before each but the first (the
    server writes each as it comes)."""
    step = len(out) // SLOW_PIECES + 1
    for i in range(0, len(out), step):
        if i > 0:
            time.sleep(SLOW_PAUSE)  # pacing of the output, bounded
        yield out[i:i + step]


def read_raw(fd, limit=1 << 20):
    """What fd gives within RAW_WAIT seconds (or until EOF)."""
    out = b""
    deadline = time.monotonic() + RAW_WAIT
    while len(out) < limit:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        part = os.read(fd, 65536)
        if not part:
            break
        out += part
    return out


def cgi_main(record_path):
    cl = os.environ.get("CONTENT_LENGTH") or None
    stdin = sys.stdin.buffer
    if cl is not None and cl.isdigit():
        n = int(cl)
        chunks, got = [], 0
        while got < n:
            part = stdin.read(n - got)
            if not part:
                break
            chunks.append(part)
            got += len(part)
        body = b"".join(chunks)
    else:
        body = read_raw(0)
    method = os.environ.get("REQUEST_METHOD", "")
    record(record_path, method, os.environ.get("QUERY_STRING", ""),
           os.environ.get("HTTP_TRANSFER_ENCODING"), cl, body)
    out = answer(method, body)
    sys.stdout.buffer.write(b"Status: 200 OK\r\nContent-Type: text/plain\r\n"
                            b"Content-Length: %d\r\n\r\n" % len(out) + out)
    sys.stdout.buffer.flush()


def serve():
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    os.environ[RECORD_ENV] = sys.argv[2]
    srv = Server(("127.0.0.1", 0), Quiet)
    srv.set_app(application)
    print("listening on %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


def cgi_serve():
    """Python's own CGI server (http.server.CGIHTTPRequestHandler, which
    forks, dup2s the socket onto the script's stdin and stdout and execs
    it) on a free loopback port, serving the directory sys.argv[2]."""
    import functools
    from http.server import CGIHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(CGIHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[2]))
    srv.daemon_threads = True
    print("listening on %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    {"serve": serve, "cgi-serve": cgi_serve}[sys.argv[1]]()
