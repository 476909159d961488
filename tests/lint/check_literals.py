#!/usr/bin/env python3
"""check_literals.py - find literal lengths counted by hand.

Flags a string literal (or adjacent literals) immediately followed by an
integer argument equal to its length, as in `memcpy(o, "abc", 3)`: that
length must come from the compiler (sizeof("abc") - 1, or LITLEN / LIT
in src/core/lit.h).

usage: check_literals.py DIR_OR_FILE...   (C sources and headers)
       check_literals.py --self-test
Prints one line per finding, FILE:LINE: ..., and exits 1 if there is any.
"""
import os
import re
import sys

SIMPLE_ESCAPES = {
    "a": 1, "b": 1, "f": 1, "n": 1, "r": 1, "t": 1, "v": 1,
    "\\": 1, "'": 1, '"': 1, "?": 1, "e": 1,
}
# what may follow the integer for it to be a whole argument
AFTER_INT = re.compile(r"\s*,\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[uUlL]*\s*[),;}]")


def literal_length(body):
    """Bytes of a C string literal's body (between the quotes), or None."""
    n = i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            n += len(c.encode("utf-8"))
            i += 1
            continue
        i += 1
        if i >= len(body):
            return None
        c = body[i]
        if c in SIMPLE_ESCAPES:
            i += 1
        elif c in "01234567":
            j = i
            while j < len(body) and j - i < 3 and body[j] in "01234567":
                j += 1
            i = j
        elif c == "x":
            j = i + 1
            while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 1:
                return None
            i = j
        elif c in "uU":
            return None     # universal names: not in this code base
        else:
            return None
        n += 1
    return n


def scan(text):
    """Yield (line, literal, length, integer) for each finding in text."""
    i, n = 0, len(text)
    line = 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            i = j
        elif c == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif c == '"':
            # a run of adjacent literals: "ab" "cd"
            start_line, total, parts = line, 0, []
            while i < n and text[i] == '"':
                j = i + 1
                while j < n and text[j] != '"' and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                body = text[i + 1:j]
                parts.append(body)
                length = literal_length(body)
                total = None if length is None or total is None else total + length
                i = j + 1
                k = i
                while k < n and text[k] in " \t\n":
                    k += 1
                if k < n and text[k] == '"':
                    line += text.count("\n", i, k)
                    i = k
            if not total:       # unknown, or "" (no length to get wrong)
                continue
            m = AFTER_INT.match(text, i)
            if m and int(m.group(1), 0) == total:
                lit = " ".join('"%s"' % p for p in parts)
                yield start_line, lit, total, m.group(1)
        elif c == "#" and text.startswith("#include", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        else:
            i += 1


# (source, findings expected): the scanner checked against itself
SELF_TEST = [
    ('memcpy(o, "abc", 3);', 1),
    ('f("a\\r\\n", 3)', 1),
    ('f("ab" "c", 3)', 1),
    ('f("ab"\n    "c", 3)', 1),
    ('f("\\x41\\101\\0", 3)', 1),
    ('f("caf\u00e9", 5)', 1),
    ('f("abc", 0x3)', 1),
    ('f("abc", 3u, x)', 1),
    ('f("abc", 4)', 0),
    ('f("abc", 3 + n)', 0),
    ('f("abc", sizeof("abc") - 1)', 0),
    ('f(LIT("abc"), 3)', 0),
    ('/* f("abc", 3) */ f(x)', 0),
    ('// f("abc", 3)\nf(x)', 0),
    ("c = '\"'; f(x, 3)", 0),
    ('f("a\\"b", 3)', 1),
    ('#include "abc.h", 5\n', 0),
    ('{ "", 0 }', 0),
]


def self_test():
    bad = 0
    for src, want in SELF_TEST:
        got = len(list(scan(src)))
        if got != want:
            print("self-test: %r: %d findings, want %d" % (src, got, want))
            bad += 1
    print("check_literals self-test: %d cases, %d wrong" % (len(SELF_TEST), bad))
    return 1 if bad else 0


def sources(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith((".c", ".h")):
                        yield os.path.join(root, f)
        else:
            yield p


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    found = checked = 0
    for path in sources(argv[1:]):
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        checked += 1
        for line, lit, length, num in scan(text):
            print("%s:%d: %s, %s: a length counted by hand (use sizeof)"
                  % (path, line, lit, num))
            found += 1
    if checked == 0:
        print("check_literals: no C file found", file=sys.stderr)
        return 2
    print("check_literals: %d files, %d hand-counted lengths" % (checked, found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
