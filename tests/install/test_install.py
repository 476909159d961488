"""test_install.py - `cmake --install` into a temporary DESTDIR, then the
installed binary with the installed conf (loopback only, bounded waits).

ctest runs it with the build directory and the paths the build was
configured for in the environment (tests/CMakeLists.txt). It checks that
exactly the binary, the conf, the pages, the two man pages and the systemd
unit are installed, where the binary, the conf and the unit expect each
other; runs the installed binary (-t, a chunked POST that gets the
installed 411 page, -s stop through a pidfile); checks that every key of
conf/lengthguard.conf is in lengthguard.conf(5) and the other way round;
renders both man pages with groff -ww; and runs systemd-analyze verify on
the unit when systemd-analyze is there.
"""

import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.environ["LG_SOURCE"]
BUILD = os.environ["LG_BUILD"]
PREFIX = os.environ["LG_INSTALL_PREFIX"]
CONF_FILE = os.environ["LG_CONF_FILE"]       # absolute, as installed
PAGES_DIR = os.environ["LG_PAGES_DIR"]
SBIN_FILE = os.environ["LG_SBIN_FILE"]
MAN_DIR = os.environ["LG_MAN_DIR"]
UNIT_FILE = os.path.join(os.environ["LG_SYSTEMD_UNITDIR"], "lengthguard.service")
PIDFILE = os.environ["LG_PIDFILE"]
PRELOAD_FILE = os.environ["LG_PRELOAD_FILE"]
RUN_FILE = os.environ["LG_RUN_FILE"]

sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from harness import Process, free_port, IO_TIMEOUT, STOP_TIMEOUT  # noqa: E402

CMD_TIMEOUT = 60.0      # for one command (cmake --install, -t, groff...)
MARKER = "installed-pages-marker-7f3a"


def run(argv, **kw):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=CMD_TIMEOUT, **kw)


def conf_keys(text):
    """{section: [keys]} of conf/lengthguard.conf, a commented-out key
    ("#pidfile = ...") included: it is documented there too."""
    keys, section = {}, None
    for line in text.splitlines():
        m = re.match(r"^\[(\w+)\]\s*$", line)
        if m:
            section = m.group(1)
            keys[section] = []
            continue
        m = re.match(r"^#?([a-z_]+) =", line)
        if m and section:
            if m.group(1) not in keys[section]:
                keys[section].append(m.group(1))
    return keys


def man_keys(text):
    """{section: [keys]} of lengthguard.conf.5: the .TP items under each
    '.SS [section]', with the paragraph of each."""
    keys, section, lines = {}, None, text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r'^\.SS \[(\w+)\]\s*$', line)
        if m:
            section = m.group(1)
            keys[section] = {}
            continue
        if line.startswith(".SH"):
            section = None
        if section and line == ".TP" and i + 1 < len(lines):
            m = re.match(r'^\.B[IR]? "([a-z_]+) = ', lines[i + 1])
            if m:
                body = []
                for later in lines[i + 2:]:
                    if later in (".TP",) or later.startswith((".SS", ".SH")):
                        break
                    body.append(later)
                keys[section][m.group(1)] = "\n".join(body)
    return keys


def under(root, path):
    return os.path.join(root, path.lstrip("/"))


class TestInstall(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lg-install-")
        # nobody must be able to reach the pidfile's directory
        os.chmod(cls.tmp, 0o755)
        cls.dest = os.path.join(cls.tmp, "dest")
        env = dict(os.environ, DESTDIR=cls.dest)
        cls.install = run(["cmake", "--install", BUILD], env=env)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def at(self, path):
        return under(self.dest, path)

    def test_files(self):
        self.assertEqual(self.install.returncode, 0,
                         self.install.stdout + self.install.stderr)
        pages = sorted(p for p in os.listdir(os.path.join(REPO, "pages"))
                       if p.endswith(".md") or p == "template.html")
        self.assertIn("411.md", pages)
        want = {SBIN_FILE, CONF_FILE, UNIT_FILE, PRELOAD_FILE, RUN_FILE,
                os.path.join(MAN_DIR, "man1", "lengthguard-run.1"),
                os.path.join(MAN_DIR, "man8", "lengthguard.8"),
                os.path.join(MAN_DIR, "man5", "lengthguard.conf.5")}
        want |= {os.path.join(PAGES_DIR, p) for p in pages}
        got = set()
        for d, _, files in os.walk(self.dest):
            for f in files:
                got.add("/" + os.path.relpath(os.path.join(d, f), self.dest))
        # nothing else: no lg-origin, no tests
        self.assertEqual(got, want)
        self.assertTrue(os.access(self.at(SBIN_FILE), os.X_OK))
        for p in pages:
            with open(os.path.join(REPO, "pages", p), "rb") as a, \
                    open(self.at(os.path.join(PAGES_DIR, p)), "rb") as b:
                self.assertEqual(a.read(), b.read(), p)
        # a man page or unit with a placeholder left in it
        for f in want - {SBIN_FILE, RUN_FILE}:
            with open(self.at(f), errors="replace") as fp:
                self.assertNotIn("@LG_", fp.read(), f)

    def test_paths_agree(self):
        """The binary's default conf, the conf's pages and pidfile, the
        unit's commands: each names the installed file."""
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        for p in (CONF_FILE, PAGES_DIR, SBIN_FILE, UNIT_FILE):
            self.assertTrue(os.path.isabs(p) and p.startswith("/"), p)
        self.assertTrue(SBIN_FILE.startswith(PREFIX + "/sbin/"), SBIN_FILE)
        r = run([self.at(SBIN_FILE), "-h"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("(default %s)" % CONF_FILE, r.stdout)
        # lengthguard-run names the installed library; the build tree's
        # its own
        r = run([self.at(RUN_FILE), "-V"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("(library %s)" % PRELOAD_FILE, r.stdout)
        r = run([os.path.join(BUILD, "lengthguard-run"), "-V"])
        self.assertIn("(library %s)" % os.path.join(
            BUILD, "liblengthguard-preload.so"), r.stdout)
        # the build tree's binary keeps the checkout's conf, relative
        r = run([os.path.join(BUILD, "lengthguard"), "-h"])
        self.assertIn("(default conf/lengthguard.conf)", r.stdout)
        with open(self.at(CONF_FILE)) as fp:
            conf = fp.read()
        self.assertRegex(conf, r"(?m)^dir = %s$" % re.escape(PAGES_DIR))
        self.assertRegex(conf, r"(?m)^user = lengthguard$")
        self.assertRegex(conf, r"(?m)^pidfile = %s$" % re.escape(PIDFILE))
        with open(os.path.join(REPO, "conf", "lengthguard.conf")) as fp:
            self.assertEqual(conf_keys(conf), conf_keys(fp.read()))
        with open(self.at(UNIT_FILE)) as fp:
            unit = fp.read()
        self.assertRegex(unit, r"(?m)^ExecStart=%s -c %s$"
                         % (re.escape(SBIN_FILE), re.escape(CONF_FILE)))
        self.assertRegex(unit, r"(?m)^ExecStartPre=%s -t -c %s$"
                         % (re.escape(SBIN_FILE), re.escape(CONF_FILE)))
        self.assertRegex(unit, r"(?m)^ExecReload=/bin/kill -HUP \$MAINPID$")
        self.assertRegex(unit, r"(?m)^Type=simple$")
        self.assertRegex(unit, r"(?m)^RuntimeDirectory=%s$"
                         % re.escape(os.path.basename(os.path.dirname(PIDFILE))))

    def test_other_prefix_refused(self):
        """--prefix other than the configured one would install a binary
        whose default conf is elsewhere: cmake --install stops."""
        dest = os.path.join(self.tmp, "other")
        r = run(["cmake", "--install", BUILD, "--prefix", PREFIX + "/other"],
                env=dict(os.environ, DESTDIR=dest))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("configured for the prefix %s" % PREFIX, r.stderr)
        self.assertFalse(os.path.exists(dest))

    def test_run_installed(self):
        """The installed binary and conf: -t, one request, -s stop."""
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        with open(self.at(CONF_FILE)) as fp:
            conf = fp.read()
        run_dir = os.path.join(self.tmp, "run")
        os.mkdir(run_dir)
        user = "nobody"
        if os.geteuid() == 0:
            # the pidfile is removed after the switch to nobody
            os.chown(run_dir, pwd.getpwnam(user).pw_uid, -1)
        pidfile = os.path.join(run_dir, "lengthguard.pid")
        port, upstream = free_port(), free_port()
        # the same file for the temporary DESTDIR: installed pages inside
        # it, loopback ports, nobody instead of the package's user
        for rx, to in ((r"(?m)^listen = .*$", "listen = 127.0.0.1:%d" % port),
                       (r"(?m)^upstream = .*$",
                        "upstream = 127.0.0.1:%d" % upstream),
                       (r"(?m)^dir = .*$", "dir = " + self.at(PAGES_DIR)),
                       (r"(?m)^user = .*$", "user = " + user),
                       (r"(?m)^pidfile = .*$", "pidfile = " + pidfile)):
            conf, n = re.subn(rx, to, conf)
            self.assertEqual(n, 1, rx)
        conf_path = os.path.join(self.tmp, "lengthguard.conf")
        with open(conf_path, "w") as fp:
            fp.write(conf)
        os.chmod(conf_path, 0o644)
        # a line only the installed page has: the reply must come from it
        page = self.at(os.path.join(PAGES_DIR, "411.md"))
        with open(page, "a") as fp:
            fp.write("\n%s\n" % MARKER)
        binary = self.at(SBIN_FILE)

        r = run([binary, "-t", "-c", conf_path], cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr.splitlines()[-1],
                         "lengthguard: configuration file %s test is "
                         "successful" % conf_path)

        proc = Process("installed", [binary, "-c", conf_path])
        try:
            proc.wait_line(r"listening on 127\.0\.0\.1:%d\b" % port)
            self.assertTrue(os.path.exists(pidfile))
            with open(pidfile) as fp:
                self.assertEqual(int(fp.read().strip()), proc.pid)
            if os.geteuid() == 0:
                proc.wait_line(r"running as user %s," % user)
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=IO_TIMEOUT) as s:
                # Connection: close: read to EOF (a small chunked body
                # would otherwise keep the connection after the 411)
                s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                          b"0\r\n\r\n")
                got = b""
                deadline = time.monotonic() + IO_TIMEOUT
                while time.monotonic() < deadline:
                    data = s.recv(65536)
                    if not data:
                        break
                    got += data
            head, _, body = got.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 411 "), got[:200])
            self.assertIn(MARKER.encode(), body)

            r = run([binary, "-s", "stop", "-c", conf_path], cwd="/")
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
            self.assertEqual(proc.wait(STOP_TIMEOUT), 0, proc.log.tail())
            self.assertFalse(os.path.exists(pidfile), proc.log.tail())
        finally:
            proc.stop()

    def test_man_conf_keys(self):
        """Every key of conf/lengthguard.conf is in lengthguard.conf(5),
        under its section, with its default; and no other key is."""
        with open(os.path.join(REPO, "conf", "lengthguard.conf")) as fp:
            want = conf_keys(fp.read())
        with open(os.path.join(REPO, "man", "lengthguard.conf.5.in")) as fp:
            got = man_keys(fp.read())
        self.assertGreater(sum(len(k) for k in want.values()), 30)
        self.assertEqual({s: sorted(k) for s, k in got.items()},
                         {s: sorted(k) for s, k in want.items()})
        for section, keys in got.items():
            for key, text in keys.items():
                self.assertRegex(text, r"(?i)\bdefault\b",
                                 "[%s] %s" % (section, key))

    def test_man_render(self):
        """The man pages render without a warning."""
        groff = shutil.which("groff")
        if groff is None:
            self.skipTest("groff is not installed (Debian package groff-base)")
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        for page in ("man8/lengthguard.8", "man5/lengthguard.conf.5",
                     "man1/lengthguard-run.1"):
            r = run([groff, "-man", "-Tutf8", "-ww", "-z",
                     self.at(os.path.join(MAN_DIR, page))])
            self.assertEqual((r.returncode, r.stderr), (0, ""), page)
            r = run([groff, "-man", "-Tutf8", "-ww",
                     self.at(os.path.join(MAN_DIR, page))])
            self.assertIn("lengthguard", r.stdout)
            self.assertNotIn("@", re.sub(r"\S+@\S+", "", r.stdout), page)

    def test_unit_verify(self):
        """systemd-analyze verify, on the unit with the DESTDIR binary and
        man pages (it checks that the commands and Documentation= exist)."""
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze is not installed (Debian package "
                          "systemd): the unit is not verified")
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        with open(self.at(UNIT_FILE)) as fp:
            unit = fp.read()
        self.assertIn(SBIN_FILE + " ", unit)
        unit = unit.replace(SBIN_FILE + " ", self.at(SBIN_FILE) + " ")
        env = dict(os.environ, MANPATH=self.at(MAN_DIR))
        for name, text, ok in (("good", unit, True),
                               # verify must be able to fail here
                               ("bad", unit.replace("Type=simple",
                                                    "Type=simplest"), False)):
            d = os.path.join(self.tmp, "unit-" + name)
            os.mkdir(d)
            path = os.path.join(d, "lengthguard.service")
            with open(path, "w") as fp:
                fp.write(text)
            r = run([analyze, "verify", path], env=env)
            out = r.stdout + r.stderr
            if ok:
                self.assertEqual((r.returncode, out), (0, ""))
            else:
                self.assertIn("simplest", out)


if __name__ == "__main__":
    unittest.main()
