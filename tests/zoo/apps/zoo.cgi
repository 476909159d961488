#!/usr/bin/python3
"""The zoo's CGI program: zoo_app.cgi_main, found through $ZOO_APPS."""
import os
import sys

sys.path.insert(0, os.environ["ZOO_APPS"])
import zoo_app  # noqa: E402

zoo_app.cgi_main()
