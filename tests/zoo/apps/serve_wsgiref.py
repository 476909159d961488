"""serve_wsgiref.py HOST PORT - zoo_app under the standard library's wsgiref
server (single-threaded, one request per connection). PORT 0 picks a free
port; the line "wsgiref serving on HOST:PORT" says which, once listening."""

import os
import sys
from wsgiref.simple_server import make_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo_app  # noqa: E402

server = make_server(sys.argv[1], int(sys.argv[2]), zoo_app.application)
print("wsgiref serving on %s:%d" % server.server_address[:2], flush=True)
server.serve_forever()
