#!/usr/bin/env python3
"""check_package.py - build the Debian package of lengthguard and check it.

    check_package.py --build OUTDIR    copy the tree (without build
                                       directories) into a temporary
                                       directory, run dpkg-buildpackage
                                       -us -uc -b there, put the .deb in
                                       OUTDIR, then check it
    check_package.py DEB               check a .deb built before

The checks: the package holds exactly what `cmake --install` installs with
prefix /usr (the binary, the conf, the pages of pages/, the two man pages,
the systemd unit under /lib/systemd/system) and the Debian docs; the binary
defaults to the installed conf, the conf names the installed pages and the
user lengthguard, the unit runs the installed binary; the conf is a
conffile; the package depends on adduser and its postinst, run with every
command it calls replaced by a recorder, creates the system user
lengthguard before it enables the unit; `lintian` reports no error
(warnings are printed, not fatal).

Exits 0 when every check passes, 1 when one fails, 77 (ctest's skip) when
the build tools are not installed (./dev package installs them).
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = 77
BUILD_TIMEOUT = 480     # dpkg-buildpackage, seconds
CMD_TIMEOUT = 120       # any other command
TOOLS = ("dpkg-buildpackage", "dh", "dpkg-deb", "lintian")

CONF = "etc/lengthguard/lengthguard.conf"
SBIN = "usr/sbin/lengthguard"
UNIT = "lib/systemd/system/lengthguard.service"
PAGES = "usr/share/lengthguard/pages"
# the stubs that stand for every command the postinst may call
POSTINST_COMMANDS = ("adduser", "deb-systemd-helper", "deb-systemd-invoke",
                     "systemctl")

failures = []


def check(ok, what, detail=""):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        if detail:
            print("  " + detail.replace("\n", "\n  "))
        failures.append(what)
    return ok


def run(args, timeout=CMD_TIMEOUT, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, **kw)


def ignore_generated(directory, names):
    """Leave out of the copy what a build or an earlier package made."""
    rel = os.path.relpath(directory, REPO)
    skip = {n for n in names if n == "__pycache__"}
    if rel == ".":
        skip |= {n for n in names if n in (".git", "build") or
                 n.startswith("build-") or n.startswith("obj-")}
    elif rel == "debian":
        skip |= {n for n in names if n in (".debhelper", "lengthguard",
                 "lengthguard-dbgsym", "files", "debhelper-build-stamp",
                 "tmp") or n.endswith(".substvars") or
                 n.endswith(".debhelper.log")}
    return skip


def build(outdir):
    with tempfile.TemporaryDirectory(prefix="lg-package-") as tmp:
        src = os.path.join(tmp, "lengthguard")
        shutil.copytree(REPO, src, ignore=ignore_generated, symlinks=True)
        print("dev: dpkg-buildpackage -us -uc -b in " + src, flush=True)
        p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
                timeout=BUILD_TIMEOUT)
        if p.returncode != 0:
            sys.stdout.write(p.stdout[-6000:] + p.stderr[-6000:])
            print("FAIL: dpkg-buildpackage exited %d" % p.returncode)
            sys.exit(1)
        debs = glob.glob(os.path.join(tmp, "lengthguard_*.deb"))
        if len(debs) != 1:
            print("FAIL: dpkg-buildpackage made %r, not one lengthguard_*.deb" % debs)
            sys.exit(1)
        os.makedirs(outdir, exist_ok=True)
        for old in glob.glob(os.path.join(outdir, "lengthguard_*.deb")):
            os.unlink(old)
        deb = os.path.join(outdir, os.path.basename(debs[0]))
        shutil.copy(debs[0], deb)
        print("dev: built " + deb)
        return deb


def multiarch():
    """The multiarch libdir name Debian gives the package (x86_64-linux-gnu)."""
    p = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"])
    return p.stdout.strip() if p.returncode == 0 else "x86_64-linux-gnu"


def expected_files():
    pages = [os.path.basename(p) for p in glob.glob(os.path.join(REPO, "pages", "*.md"))]
    return {SBIN, CONF, UNIT,
            "usr/lib/%s/lengthguard/liblengthguard-preload.so" % multiarch(),
            "usr/bin/lengthguard-run",
            "usr/share/man/man1/lengthguard-run.1.gz",
            "usr/share/man/man8/lengthguard.8.gz",
            "usr/share/man/man5/lengthguard.conf.5.gz",
            "usr/share/doc/lengthguard/copyright",
            "usr/share/doc/lengthguard/changelog.gz"} | \
        {PAGES + "/" + n for n in pages + ["template.html"]}


def check_contents(deb):
    p = run(["dpkg-deb", "-c", deb])
    check(p.returncode == 0, "dpkg-deb -c lists the package", p.stderr)
    files = {}
    for line in p.stdout.splitlines():
        fields = line.split(None, 5)
        if len(fields) == 6 and not fields[0].startswith("d"):
            files[fields[5].split(" -> ")[0].removeprefix("./")] = fields[0]
    want = expected_files()
    check(len(want) > 10 and set(files) == want,
          "the package holds exactly the installed files",
          "missing: %s\nextra: %s" % (sorted(want - set(files)),
                                      sorted(set(files) - want)))
    check(files.get(SBIN, "").startswith("-rwxr-xr-x"),
          "/" + SBIN + " is executable", files.get(SBIN, "absent"))
    check(files.get(CONF, "").startswith("-rw-r--r--"),
          "/" + CONF + " is mode 0644", files.get(CONF, "absent"))


def lines(root, path):
    try:
        with open(os.path.join(root, path)) as f:
            return f.read().splitlines()
    except OSError:
        return []       # the contents check has said it is missing


def check_installed_paths(root):
    conf = lines(root, CONF)
    check("dir = /" + PAGES in conf, "the conf names the installed pages")
    check("user = lengthguard" in conf, "the conf names the user lengthguard")
    unit = lines(root, UNIT)
    check("ExecStart=/%s -c /%s" % (SBIN, CONF) in unit,
          "the unit runs /" + SBIN + " with /" + CONF)
    sbin = os.path.join(root, SBIN)
    p = run([sbin, "--help"]) if os.path.exists(sbin) else None
    check(p is not None and p.returncode == 0 and "(default /%s)" % CONF in p.stdout + p.stderr,
          "the packaged binary defaults to /" + CONF,
          p.stdout + p.stderr if p else "no binary")


def check_control(deb, ctrl):
    p = run(["dpkg-deb", "-f", deb, "Depends"])
    depends = [d.strip().split()[0] for d in p.stdout.split(",") if d.strip()]
    check("adduser" in depends, "the package depends on adduser", p.stdout)
    path = os.path.join(ctrl, "conffiles")
    conffiles = open(path).read().split() if os.path.exists(path) else []
    check("/" + CONF in conffiles, "/" + CONF + " is a conffile",
          "conffiles: %r" % conffiles)


def check_postinst(ctrl, tmp):
    """Run the postinst with a PATH of recorders only: whatever it calls is
    logged, nothing on this machine changes."""
    stubs = os.path.join(tmp, "stubs")
    log = os.path.join(tmp, "calls.log")
    os.mkdir(stubs)
    for name in POSTINST_COMMANDS:
        with open(os.path.join(stubs, name), "w") as f:
            f.write('#!/bin/sh\necho "${0##*/} $*" >> "%s"\nexit 0\n' % log)
        os.chmod(os.path.join(stubs, name), 0o755)
    postinst = os.path.join(ctrl, "postinst")
    if not check(os.path.exists(postinst), "the package has a postinst"):
        return
    p = run(["/bin/sh", "-e", postinst, "configure", ""],
            env={"PATH": stubs, "DPKG_MAINTSCRIPT_PACKAGE": "lengthguard"})
    calls = open(log).read().splitlines() if os.path.exists(log) else []
    check(p.returncode == 0, "postinst configure exits 0",
          p.stdout + p.stderr + "\n".join(calls))
    adduser = [i for i, c in enumerate(calls) if c.startswith("adduser ")]
    ok = len(adduser) == 1 and "--system" in calls[adduser[0]].split() and \
        calls[adduser[0]].split()[-1] == "lengthguard"
    check(ok, "postinst creates the system user lengthguard", "\n".join(calls))
    enable = [i for i, c in enumerate(calls) if c.startswith("deb-systemd-helper enable")]
    check(ok and len(enable) == 1 and adduser[0] < enable[0],
          "postinst creates the user before it enables the unit", "\n".join(calls))


def check_lintian(deb):
    p = run(["lintian", "--fail-on", "error", deb], timeout=BUILD_TIMEOUT)
    tags = [line for line in p.stdout.splitlines() if line[:2] in ("E:", "W:")]
    for line in tags:
        print("  lintian " + line)
    errors = [line for line in tags if line.startswith("E:")]
    check(p.returncode == 0 and not errors, "lintian reports no error",
          p.stdout + p.stderr)
    print("lintian: %d error(s), %d warning(s)" % (len(errors), len(tags) - len(errors)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", metavar="OUTDIR",
                    help="build the package first, into OUTDIR")
    ap.add_argument("deb", nargs="?", help="a .deb to check")
    args = ap.parse_args()
    if bool(args.build) == bool(args.deb):
        ap.error("give either --build OUTDIR or DEB")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("SKIP: %s not installed (./dev package installs them)" % " ".join(missing))
        return SKIP
    deb = build(args.build) if args.build else args.deb
    with tempfile.TemporaryDirectory(prefix="lg-package-check-") as tmp:
        root = os.path.join(tmp, "root")
        ctrl = os.path.join(tmp, "control")
        for opt, d in (("-x", root), ("-e", ctrl)):
            p = run(["dpkg-deb", opt, deb, d])
            if not check(p.returncode == 0, "dpkg-deb %s %s" % (opt, deb), p.stderr):
                return 1
        check_contents(deb)
        check_installed_paths(root)
        check_control(deb, ctrl)
        check_postinst(ctrl, tmp)
        check_lintian(deb)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all package checks passed: " + deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
