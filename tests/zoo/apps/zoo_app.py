"""zoo_app.py - the application behind every backend of the zoo.

It records every request it handles, as one JSON line, to the file named by
the pointer $ZOO_RECORD_DIR/current (the test sets it before each case), and
answers 200 with a small text body. The same code serves as a WSGI callable
(`application`, under wsgiref, gunicorn, waitress) and as a CGI program
(`cgi_main`, under busybox httpd).

What it records is what an application sees: method, path, query, the
environ variables that matter for smuggling and header hygiene, and the body
it read (its length and sha256). It reads the body the way a sloppy
application does: CONTENT_LENGTH bytes when that is a number, else to the
end when the server says the input is terminated (a server that decoded
chunked), else nothing.
"""

import hashlib
import json
import os
import sys

# environ variables always recorded when present
NAMED = ("CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING", "HTTP_X_FORWARDED_FOR",
         "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED", "HTTP_X_REAL_IP",
         "HTTP_PROXY", "HTTP_FOO_BAR", "HTTP_VIA", "REMOTE_ADDR")
# and every HTTP_* variable whose name contains one of these
MARKS = ("TRANSFER", "CONTENT", "FORWARD")


def interesting(environ):
    out = {}
    for k, v in environ.items():
        if not isinstance(v, str):
            continue
        if k in NAMED or (k.startswith("HTTP_") and
                          any(m in k for m in MARKS)):
            out[k] = v
    return out


def record(environ, body, how):
    """Append the JSON line of one request; return the line's dict."""
    rec = {
        "server": os.environ.get("ZOO_SERVER", "?"),
        "method": environ.get("REQUEST_METHOD", ""),
        "path": environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
        "query": environ.get("QUERY_STRING", ""),
        "env": interesting(environ),
        "body_len": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_how": how,
        "pid": os.getpid(),
    }
    d = os.environ["ZOO_RECORD_DIR"]
    with open(os.path.join(d, "current"), encoding="ascii") as f:
        name = f.read().strip() or "unnamed"
    line = (json.dumps(rec, sort_keys=True) + "\n").encode()
    # one write() on an O_APPEND file: lines of concurrent writers never mix
    fd = os.open(os.path.join(d, name + ".jsonl"),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return rec


def read_exactly(stream, n):
    parts, left = [], n
    while left > 0:
        b = stream.read(min(left, 1 << 16))
        if not b:
            break
        parts.append(b)
        left -= len(b)
    return b"".join(parts)


def reply_body(rec):
    return ("zoo %s %s %s %d %s\n" % (rec["server"], rec["method"],
                                      rec["path"], rec["body_len"],
                                      rec["body_sha256"])).encode()


def application(environ, start_response):
    cl = environ.get("CONTENT_LENGTH", "")
    stream = environ["wsgi.input"]
    if cl.isdigit():
        body, how = read_exactly(stream, int(cl)), "content-length"
    elif environ.get("wsgi.input_terminated"):
        body, how = stream.read(), "terminated"
    else:
        body, how = b"", "none"
    out = reply_body(record(environ, body, how))
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(out)))])
    return [out]


def cgi_main():
    cl = os.environ.get("CONTENT_LENGTH", "")
    if cl.isdigit():
        body, how = read_exactly(sys.stdin.buffer, int(cl)), "content-length"
    else:
        body, how = b"", "none"
    out = reply_body(record(os.environ, body, how))
    sys.stdout.buffer.write(b"Status: 200 OK\r\nContent-Type: text/plain\r\n"
                            b"Content-Length: %d\r\n\r\n" % len(out) + out)
    sys.stdout.buffer.flush()
