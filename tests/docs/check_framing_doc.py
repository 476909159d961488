#!/usr/bin/env python3
"""Check docs/framing.md against the code and the tests.

    python3 tests/docs/check_framing_doc.py [SOURCE_DIR]

Every table of docs/framing.md has the columns
Rule | RFC | Answer | Enforced in | Tested by. This fails (exit 1) when:

- a table has other columns, or a row has the wrong number of cells, an
  empty Rule or Answer, or an RFC cell that names no RFC and no "policy";
- an `Enforced in` citation `path: function` names a file that does not
  exist, or a function that the file does not define;
- a `Tested by` citation names a row that tests/core/framing_cases.h,
  tests/core/response_cases.h or tests/core/chunked_cases.h does not have
  (`framing: NAME`, `response: NAME`, `chunked: NAME`: the first string of
  a ROW...(...) entry), an e2e test
  that tests/e2e/*.py does not define (`e2e: Class.method`, optionally
  followed by `[case]`, a string the class must contain), or a test
  function that does not exist (`tests/...: function`); or the cell holds
  neither a citation nor "no test";
- a file under src/, tests/ or bench/, or README.md, still cites a framing
  rules document by any name other than docs/framing.md.

It prints the rules marked "no test", for information.
"""

import ast
import os
import re
import sys

HEADER = ["Rule", "RFC", "Answer", "Enforced in", "Tested by"]
DOC = os.path.join("docs", "framing.md")
CASES = {
    "framing": os.path.join("tests", "core", "framing_cases.h"),
    "response": os.path.join("tests", "core", "response_cases.h"),
    "chunked": os.path.join("tests", "core", "chunked_cases.h"),
}
E2E_DIR = os.path.join("tests", "e2e")
# where stale citations of the rules document are looked for
CITE_DIRS = ("src", "tests", "bench")
CITE_FILES = ("README.md",)
SELF = os.path.abspath(__file__)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def split_cells(line):
    """Cells of a Markdown table line; a | inside backticks is not a border."""
    cells, cur, code = [], [], False
    for ch in line.strip():
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    cells.append("".join(cur))
    # a line that starts and ends with | has an empty cell at each end
    if cells and cells[0].strip() == "":
        cells = cells[1:]
    if cells and cells[-1].strip() == "":
        cells = cells[:-1]
    return [c.strip() for c in cells]


def tables(text):
    """Yield (line number, header cells, [(line number, cells)...])."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("|"):
            i += 1
            continue
        start = i
        block = []
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            block.append((i + 1, split_cells(lines[i])))
            i += 1
        header = block[0][1]
        rows = [b for b in block[1:]
                if not all(re.fullmatch(r":?-{3,}:?", c) for c in b[1])]
        yield start + 1, header, rows


def c_string_literals(s):
    """The value of adjacent C string literals ("a" "b")."""
    out = []
    for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', s):
        out.append(bytes(lit, "utf-8").decode("unicode_escape")
                   .encode("latin-1").decode("utf-8", "replace"))
    return "".join(out)


def row_names(path):
    """First string of each ROW, ROWO, ROWN, ROWX, ROWP, ROWM entry."""
    text = read(path)
    names = set()
    pat = re.compile(r'\bROW[A-Z]?\(\s*((?:"(?:[^"\\\n]|\\.)*"\s*)+),')
    for m in pat.finditer(text):
        names.add(c_string_literals(m.group(1)))
    return names


def e2e_tests(root):
    """{"Class.method": set of string constants in the class}."""
    tests = {}
    d = os.path.join(root, E2E_DIR)
    for name in sorted(os.listdir(d)):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(read(os.path.join(d, name)), name)
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            strings = {n.value for n in ast.walk(node)
                       if isinstance(n, ast.Constant) and isinstance(n.value, str)}
            for item in node.body:
                if (isinstance(item, ast.FunctionDef)
                        and item.name.startswith("test")):
                    tests["%s.%s" % (node.name, item.name)] = strings
    return tests


def defines(text, func):
    """Does C source `text` define `func` (not only declare or call it)?"""
    name = re.escape(func)
    # BSD style: the name starts the line of the definition
    if re.search(r"^%s\s*\(" % name, text, re.M):
        return True
    # one-line style: "static int name(...) {" or "... name(...)" + "{" below
    for m in re.finditer(r"^[A-Za-z_][^;{}()\n]*[\s*]%s\s*\([^;]*$" % name,
                         text, re.M):
        rest = text[m.end():m.end() + 400]
        if rest.lstrip().startswith("{") or m.group(0).rstrip().endswith("{"):
            return True
    return False


class Checker:
    def __init__(self, root):
        self.root = root
        self.errors = []
        self.untested = []
        self.sources = {}
        self.rows = {k: row_names(os.path.join(root, v))
                     for k, v in CASES.items()}
        self.e2e = e2e_tests(root)

    def error(self, line, msg):
        self.errors.append("%s:%d: %s" % (DOC, line, msg))

    def source(self, path):
        if path not in self.sources:
            full = os.path.join(self.root, path)
            self.sources[path] = read(full) if os.path.isfile(full) else None
        return self.sources[path]

    def check_function(self, line, ref):
        m = re.fullmatch(r"([\w./-]+\.[ch]): ([A-Za-z_]\w*)", ref)
        if m is None:
            self.error(line, "not a `file: function` citation: `%s`" % ref)
            return
        path, func = m.groups()
        if os.path.isabs(path) or ".." in path.split("/"):
            self.error(line, "not a path inside the repository: %s" % path)
            return
        text = self.source(path)
        if text is None:
            self.error(line, "no such file: %s" % path)
        elif not defines(text, func):
            self.error(line, "%s does not define %s()" % (path, func))

    def check_test(self, line, ref):
        kind, sep, name = ref.partition(": ")
        if not sep:
            self.error(line, "not a test citation: `%s`" % ref)
        elif kind in self.rows:
            if name not in self.rows[kind]:
                self.error(line, "no row %r in %s" % (name, CASES[kind]))
        elif kind == "e2e":
            m = re.fullmatch(r"(\w+\.\w+)(?: \[(.+)\])?", name)
            if m is None:
                self.error(line, "not an e2e citation: `%s`" % ref)
            elif m.group(1) not in self.e2e:
                self.error(line, "no e2e test %s in %s/*.py"
                           % (m.group(1), E2E_DIR))
            elif m.group(2) and m.group(2) not in self.e2e[m.group(1)]:
                self.error(line, "e2e test %s has no case %r"
                           % (m.group(1), m.group(2)))
        elif kind.startswith("tests/"):
            self.check_function(line, ref)
        else:
            self.error(line, "unknown kind of test citation: `%s`" % ref)

    def check_doc(self):
        path = os.path.join(self.root, DOC)
        if not os.path.isfile(path):
            self.errors.append("%s: missing" % DOC)
            return 0
        text = read(path)
        nrows = 0
        heading = ""
        for lineno, header, rows in tables(text):
            if header != HEADER:
                self.error(lineno, "table columns are %s, not %s"
                           % (header, HEADER))
                continue
            if not rows:
                self.error(lineno, "table without rows")
            for line, cells in rows:
                nrows += 1
                if len(cells) != len(HEADER):
                    self.error(line, "%d cells, not %d"
                               % (len(cells), len(HEADER)))
                    continue
                rule, rfc, answer, enforced, tested = cells
                if not rule or not answer:
                    self.error(line, "empty Rule or Answer")
                if not re.search(r"\bRFC \d{4}\b|\bpolicy\b", rfc):
                    self.error(line, "RFC cell names no RFC and no policy: %r"
                               % rfc)
                refs = re.findall(r"`([^`]+)`", enforced)
                if not refs:
                    self.error(line, "no `file: function` in Enforced in")
                for ref in refs:
                    self.check_function(line, ref)
                # the parenthesised remark of a "no test" cell may cite code
                # in passing; only what precedes it is a test citation
                untested = "no test" in tested
                cited = tested.split("**no test**")[0] if untested else tested
                refs = re.findall(r"`([^`]+)`", cited)
                if untested:
                    self.untested.append((line, rule))
                    for ref in re.findall(r"`([^`]+)`", tested):
                        if re.fullmatch(r"[\w./-]+\.[ch]: \w+", ref):
                            self.check_function(line, ref)
                elif not refs:
                    self.error(line, "Tested by cites nothing and does not "
                               "say \"no test\"")
                for ref in refs:
                    self.check_test(line, ref)
        if nrows == 0:
            self.errors.append("%s: no rule tables found" % DOC)
        return nrows

    def check_citations(self):
        """No file still cites the rules document by another name."""
        paths = [os.path.join(self.root, f) for f in CITE_FILES]
        for d in CITE_DIRS:
            for dirpath, dirnames, filenames in os.walk(
                    os.path.join(self.root, d)):
                dirnames[:] = sorted(n for n in dirnames
                                     if not n.startswith("."))
                paths.extend(os.path.join(dirpath, n)
                             for n in sorted(filenames))
        pat = re.compile(r"framing\.md", re.I)
        for p in paths:
            if os.path.abspath(p) == SELF or not os.path.isfile(p):
                continue
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if b"\0" in data[:4096]:
                continue            # binary (fuzz seeds)
            text = data.decode("utf-8", "replace")
            for n, line in enumerate(text.split("\n"), 1):
                for m in pat.finditer(line):
                    good = (m.group(0) == "framing.md"
                            and line[:m.start()].endswith("docs/"))
                    if not good:
                        self.errors.append(
                            "%s:%d: cites %r instead of docs/framing.md: %s"
                            % (os.path.relpath(p, self.root), n,
                               m.group(0), line.strip()))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    root = os.path.abspath(root)
    c = Checker(root)
    nrows = c.check_doc()
    c.check_citations()
    for line, rule in c.untested:
        print("untested: %s:%d: %s" % (DOC, line, rule))
    for e in c.errors:
        print("error: " + e)
    print("%s: %d rules, %d without a test, %d errors"
          % (DOC, nrows, len(c.untested), len(c.errors)))
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main())
