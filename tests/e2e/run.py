#!/usr/bin/env python3
"""Run the end-to-end suite: python3 tests/e2e/run.py [unittest args...]

Same as `python3 -m unittest discover -s tests/e2e -v`. The binaries come
from $LG_BUILD (default: <repo>/build).
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    sys.path.insert(0, HERE)
    if len(sys.argv) > 1:
        prog = unittest.main(module=None, argv=[sys.argv[0]] + sys.argv[1:],
                             exit=False, verbosity=2)
        sys.exit(not prog.result.wasSuccessful())
    suite = unittest.defaultTestLoader.discover(HERE, top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
