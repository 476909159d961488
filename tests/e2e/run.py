#!/usr/bin/env python3
"""Run the end-to-end suite: python3 tests/e2e/run.py [NAME...]

With no NAME, the same as `python3 -m unittest discover -s tests/e2e -v`.
A NAME is a module, class or test: test_proxy, test_proxy.TestLimits,
test_proxy.TestLimits.test_head_over_limit_431. The binaries come from
$LG_BUILD (default: <repo>/build); LG_E2E_VERBOSE=1 prints every process's
output after each test (it is printed anyway when a test fails).
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
