#!/usr/bin/env python3
"""Check docs/classes.md against the reason table (src/core/reason.c).

    python3 tests/docs/check_classes_doc.py [SOURCE_DIR]

Under "## Every reason, by class", each "### CLASS" section has a table
whose first cell is a reason's label in backticks, whose second is its
status and whose third says what [policy] mode = monitor does with it:
"forwarded" for a reason the table marks so (an MROW row,
reason_monitored()), "as in enforce" for any other. This fails (exit 1)
when a reason of src/core/reason.c is missing, listed twice, listed under
another class than its row's desync column, with another status or
another monitor mode answer, or when the document lists a label the table
lacks.
"""

import os
import re
import sys

ROW = re.compile(r'(M?)ROW\((REASON_\w+),\s*(\d+),\s*(\w+),\s*(\w+),\s*"[^"]*",'
                 r'\s*"([a-z0-9_]+)"\)', re.S)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    with open(os.path.join(src, "src", "core", "reason.c"), encoding="utf-8") as f:
        code = f.read()
    with open(os.path.join(src, "docs", "classes.md"), encoding="utf-8") as f:
        doc = f.read()
    want = {}
    for mon, _enum, status, _cls, desync, label in ROW.findall(code):
        if label != "none":
            want[label] = (desync.lower(), status,
                           "forwarded" if mon else "as in enforce")
    errors = []
    if sum(1 for v in want.values() if v[2] == "forwarded") == 0:
        errors.append("reason.c: no MROW row read: the pattern is stale")
    if len(want) < 50:
        errors.append("reason.c: only %d rows read: the pattern is stale" % len(want))
    part = doc.split("## Every reason, by class", 1)
    if len(part) != 2:
        errors.append("docs/classes.md: no \"## Every reason, by class\" section")
        part = ["", ""]
    seen = {}
    cls = None
    for line in part[1].splitlines():
        m = re.match(r"### (\w+)\s*$", line)
        if m:
            cls = m.group(1)
            continue
        m = re.match(r"\|\s*`([a-z0-9_]+)`\s*\|\s*(\d+)\s*\|([^|]*)\|",
                     line)
        if not m:
            continue
        label, status, mon = m.group(1), m.group(2), m.group(3).strip()
        if label in seen:
            errors.append("%s: listed twice" % label)
        seen[label] = (cls, status, mon)
    for label, (desync, status, mon) in sorted(want.items()):
        if label not in seen:
            errors.append("%s: not listed (class %s)" % (label, desync))
        elif seen[label] != (desync, status, mon):
            errors.append("%s: listed as %s %s, monitor mode: %s; the table "
                          "says %s %s, %s" % ((label,) + seen[label] +
                                              (desync, status, mon)))
    for label in sorted(set(seen) - set(want)):
        errors.append("%s: not in the reason table" % label)
    for e in errors:
        print("docs/classes.md: " + e)
    print("%d reasons checked" % len(want))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
