#!/usr/bin/env python3
"""Structure of the rendered pages, as a browser would parse them.

usage: check_html.py TEST_PAGES_BINARY PAGES_DIR

Runs test_pages to write every HTML reply body to a temporary directory,
then parses each with html.parser: tags balanced, one <title> and one <h1>
naming the status, the hint box, the quoted definitions with <cite> links,
a viewport meta, inline CSS only and no external resource of any kind.
"""
import html.parser
import os
import re
import subprocess
import sys
import tempfile

VOID = {"meta", "link", "br", "hr", "img", "input", "source", "wbr"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors = [], []
        self.count, self.text = {}, {}
        self.where = []
        self.attrs_seen = []

    def handle_starttag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1
        self.attrs_seen.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack))
            return
        self.stack.pop()

    def handle_data(self, data):
        for tag in self.stack:
            self.text[tag] = self.text.get(tag, "") + data


def check(path, status):
    p = Page()
    with open(path, encoding="utf-8") as f:
        source = f.read()
    p.feed(source)
    p.close()
    bad = list(p.errors)
    if p.stack:
        bad.append("unclosed tags: %s" % p.stack)
    if not source.startswith("<!DOCTYPE html>"):
        bad.append("no doctype")
    for tag in ("html", "head", "body", "title", "h1", "main", "style"):
        if p.count.get(tag) != 1:
            bad.append("expected one <%s>, found %d" % (tag, p.count.get(tag, 0)))
    title = p.text.get("title", "").strip()
    h1 = " ".join(p.text.get("h1", "").split())
    if not re.fullmatch(r"%d [A-Z][A-Za-z -]+" % status, title):
        bad.append("title is %r" % title)
    if h1 != title:
        bad.append("h1 %r differs from title %r" % (h1, title))
    if "How to fix it" not in p.text.get("aside", ""):
        bad.append("no hint box")
    if status == 411:
        if p.count.get("blockquote", 0) < 1 or p.count.get("cite", 0) < 1:
            bad.append("no quoted definition with a citation")
    elif p.count.get("blockquote", 0) > 0:
        bad.append("a quotation: the page's RFC text is a summary")
    links = [a.get("href", "") for t, a in p.attrs_seen if t == "a"]
    if not any(re.match(r"https://(www\.rfc-editor\.org|tools\.ietf\.org|datatracker\.ietf\.org)/", h)
               for h in links):
        bad.append("no link to an RFC: %s" % links)
    metas = [a for t, a in p.attrs_seen if t == "meta"]
    if not any(m.get("name") == "viewport" for m in metas):
        bad.append("no viewport meta")
    for t, a in p.attrs_seen:
        if t in ("script", "img", "iframe", "link") or "src" in a:
            bad.append("external or active content: <%s %s>" % (t, a))
    if "{{" in source or "}}" in source:
        bad.append("a template placeholder is left")
    if "hidden: True" in source:
        bad.append("front matter leaked into the page")
    return bad


def main():
    binary, pages = sys.argv[1], sys.argv[2]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([binary, pages, out], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            print("check_html: 0 passed, 1 failed")
            return 1
        names = sorted(n for n in os.listdir(out) if n.endswith(".html"))
        if len(names) < 10:
            print("only %d pages rendered" % len(names))
            failed += 1
        for name in names:
            problems = check(os.path.join(out, name), int(name[:3]))
            if problems:
                failed += 1
                print("%s:\n  %s" % (name, "\n  ".join(problems)))
            else:
                passed += 1
    print("check_html: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
