#!/usr/bin/env python3
"""app.py - a legacy application for the preload tests: Python's
ThreadingHTTPServer in HTTP/1.1 mode (keep-alive) on a loopback port it
chooses. It prints "listening on PORT" once bound, and one line per request
it receives: "app: METHOD TARGET te=... cl=... len=N sha256=HEX conn=PORT
timeout=T" (T: the socket's timeout, None when blocking).
GET answers "hello\\n"; POST answers the sha256 of the body it read
(Content-Length bytes; a request without one has no body for it).
With APP_TIMEOUT=SECONDS, connections have that timeout (non-blocking
sockets waited on with poll)."""

import hashlib
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, body):
        te = self.headers.get("Transfer-Encoding")
        cl = self.headers.get("Content-Length")
        print("app: %s %s te=%s cl=%s len=%d sha256=%s conn=%d timeout=%s" % (
            self.command, self.path, te, cl, len(body),
            hashlib.sha256(body).hexdigest(), self.client_address[1],
            self.connection.gettimeout()), flush=True)
        out = (hashlib.sha256(body).hexdigest() + "\n").encode() \
            if self.command == "POST" else b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self._answer(self.rfile.read(n))


def main():
    # APP_TIMEOUT: http.server's per-connection timeout, which makes
    # Python's sockets non-blocking, waited on with poll
    if os.environ.get("APP_TIMEOUT"):
        Handler.timeout = float(os.environ["APP_TIMEOUT"])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print("listening on %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
