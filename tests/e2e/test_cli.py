"""End-to-end tests of lengthguard as an operator runs it: --help and
--version, -t in nginx's words (and its check of the log files, as the
configured user), the pidfile and -s, the drop to [proxy] user, the Server
field of lengthguard's own replies, and error lines under the journal.

    LG_BUILD=$PWD/build python3 -m unittest discover -s tests/e2e -p test_cli.py -v
"""

import os
import re
import signal
import subprocess
import unittest

from harness import (PAGES_DIR, PROXY_BIN, E2ECase, Proxy, build_request,
                     free_port, run_proxy_cmd, write_conf)

ROOT = os.geteuid() == 0
STAMP_RX = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} lengthguard\[\d+\] "


def proc_ids(pid, field):
    """The numbers of a /proc/PID/status line ("Uid", "Gid", "Groups")."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no %s line in /proc/%d/status" % (field, pid))


class CliCase(E2ECase):
    def setUp(self):
        super().setUp()
        # readable by every user: the tests that drop to nobody need it
        os.chmod(self.tmpdir, 0o755)

    def conf(self, proxy=None, log=None, name="lengthguard.conf"):
        """Write a conf into tmpdir; returns its path."""
        p = {"listen": "127.0.0.1:%d" % free_port(),
             "upstream": "127.0.0.1:%d" % free_port()}
        if ROOT:
            p["user"] = "root"
        p.update(proxy or {})
        path = os.path.join(self.tmpdir, name)
        write_conf(path, {"proxy": p, "pages": {"dir": PAGES_DIR},
                          "log": log or {}})
        return path

    def proxy(self, overrides=None, preexec_fn=None):
        return self.start_proxy(self.start_origin().port, overrides,
                                preexec_fn)


class TestHelpVersion(unittest.TestCase):
    def test_help(self):
        for opt in ("--help", "-h"):
            rc, out, err = run_proxy_cmd([opt])
            self.assertEqual(rc, 0, opt + out + err)
            self.assertTrue(out.startswith("usage: lengthguard "), out)
            for word in ("--conf", "--test", "--signal", "--version"):
                self.assertIn(word, out)
            self.assertEqual(err, "")

    def test_version(self):
        for opt in ("--version", "-V"):
            rc, out, err = run_proxy_cmd([opt])
            self.assertEqual(rc, 0, opt + out + err)
            self.assertRegex(out, r"\Alengthguard \d+\.\d+\.\d+\n\Z")
            self.assertEqual(err, "")

    def test_invalid_option(self):
        rc, out, err = run_proxy_cmd(["--no-such-option"])
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("usage: lengthguard", err)


class TestConfTest(CliCase):
    def test_names_the_file(self):
        path = self.conf()
        # named through "./": the message names the file itself
        rc, out, err = run_proxy_cmd(
            ["-t", "-c", os.path.join(self.tmpdir, ".", "lengthguard.conf")])
        real = os.path.realpath(path)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out, "")
        self.assertEqual(err, "lengthguard: the configuration file %s syntax "
                         "is ok\nlengthguard: configuration file %s test is "
                         "successful\n" % (real, real))

    def test_broken_conf_fails_naming_the_file(self):
        path = self.conf({"no_such_key": "1"})
        rc, out, err = run_proxy_cmd(["-t", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(err, re.escape(path) + r":\d+: \[proxy\] no_such_key")
        self.assertTrue(err.endswith("lengthguard: configuration file %s test "
                                     "failed\n" % os.path.realpath(path)), err)
        self.assertNotIn("syntax is ok", err)

    def test_syslog_error_log(self):
        rc, out, err = run_proxy_cmd(["-t", "-c",
                                      self.conf(log={"error": "syslog"})])
        self.assertEqual(rc, 0, out + err)

    def test_log_file_the_user_cannot_append_to(self):
        log = os.path.join(self.tmpdir, "error.log")
        with open(log, "w"):
            pass
        if ROOT:
            # root may append to it, nobody may not: the check is the user's
            os.chmod(log, 0o600)
            ok = self.conf({"user": "root"}, {"error": "error.log"})
            rc, out, err = run_proxy_cmd(["-t", "-c", ok])
            self.assertEqual(rc, 0, out + err)
            path = self.conf({"user": "nobody"}, {"error": "error.log"})
            who = "nobody"
        else:
            os.chmod(log, 0o400)
            path = self.conf(log={"error": "error.log"})
            who = "this user"
        with open(path) as f:
            line = f.read().split("\n").index("error = error.log") + 1
        rc, out, err = run_proxy_cmd(["-t", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("lengthguard: %s:%d: [log] error: \"%s\" cannot be "
                      "opened for appending by %s: Permission denied\n"
                      % (path, line, log, who), err)
        self.assertIn("syntax is ok", err)
        self.assertIn("test failed", err)

    def test_temp_dir_the_user_cannot_write(self):
        tmp = os.path.join(self.tmpdir, "bodies")
        os.mkdir(tmp)
        if ROOT:
            # root may write there, nobody may not: the check is the user's
            os.chmod(tmp, 0o700)
            ok = self.conf({"user": "root", "temp_dir": tmp})
            rc, out, err = run_proxy_cmd(["-t", "-c", ok])
            self.assertEqual(rc, 0, out + err)
            path = self.conf({"user": "nobody", "temp_dir": tmp})
            who = "nobody"
        else:
            os.chmod(tmp, 0o500)
            path = self.conf({"temp_dir": tmp})
            who = "this user"
        with open(path) as f:
            line = f.read().split("\n").index("temp_dir = " + tmp) + 1
        rc, out, err = run_proxy_cmd(["-t", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("lengthguard: %s:%d: [proxy] temp_dir: \"%s\": %s "
                      "cannot make a temporary file there: Permission "
                      "denied\n" % (path, line, tmp, who), err)
        self.assertEqual(os.listdir(tmp), [], "-t left a file behind")

    def test_missing_log_file_is_not_created(self):
        path = self.conf(log={"access": "access.log"})
        rc, out, err = run_proxy_cmd(["-t", "-c", path])
        self.assertEqual(rc, 0, out + err)
        self.assertFalse(os.path.exists(os.path.join(self.tmpdir,
                                                     "access.log")))

    @unittest.skipUnless(ROOT, "needs root")
    def test_root_without_user(self):
        path = self.conf({"user": None})
        rc, out, err = run_proxy_cmd(["-t", "-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("running as root needs [proxy] user", err)
        self.assertIn("test failed", err)
        # and it does not start either
        rc, out, err = run_proxy_cmd(["-c", path])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("running as root needs [proxy] user", err)
        self.assertNotIn("listening on", err)


class TestPidfile(CliCase):
    def signal_cmd(self, name, conf):
        return run_proxy_cmd(["-s", name, "-c", conf])

    def test_written_signalled_removed(self):
        os.mkdir(os.path.join(self.tmpdir, "run"))
        for stop in ("stop", "quit"):
            p = self.proxy({"proxy": {"pidfile": "run/lg.pid"}})
            pidfile = os.path.join(self.tmpdir, "run", "lg.pid")
            with open(pidfile) as f:
                self.assertEqual(f.read(), "%d\n" % p.pid)
            mark = p.log.mark()
            rc, out, err = self.signal_cmd("reopen", p.conf)
            self.assertEqual((rc, out, err), (0, "", ""))
            p.wait_line(r"log files reopened", since=mark)
            mark = p.log.mark()
            rc, out, err = self.signal_cmd("reload", p.conf)
            self.assertEqual((rc, out, err), (0, "", ""))
            p.wait_line(r"configuration reloaded", since=mark)
            p.signalled = True          # it is told to stop, through -s
            rc, out, err = self.signal_cmd(stop, p.conf)
            self.assertEqual((rc, out, err), (0, "", ""))
            self.assertEqual(p.wait(), 0, stop)
            self.assertFalse(os.path.exists(pidfile), stop)

    def test_no_pidfile_key(self):
        path = self.conf()
        rc, out, err = self.signal_cmd("reload", path)
        self.assertEqual(rc, 1)
        self.assertIn("%s: no [proxy] pidfile" % os.path.realpath(path), err)

    def test_no_file(self):
        path = self.conf({"pidfile": "lg.pid"})
        rc, out, err = self.signal_cmd("stop", path)
        self.assertEqual(rc, 1)
        self.assertIn("cannot open pidfile %s: No such file or directory "
                      "(is lengthguard running?)"
                      % os.path.join(os.path.realpath(self.tmpdir), "lg.pid"),
                      err)

    def test_no_such_process(self):
        path = self.conf({"pidfile": "lg.pid"})
        gone = subprocess.Popen(["true"])
        gone.wait()
        for pid in (gone.pid, os.getpid()):     # exited; not lengthguard
            with open(os.path.join(self.tmpdir, "lg.pid"), "w") as f:
                f.write("%d\n" % pid)
            rc, out, err = self.signal_cmd("reload", path)
            self.assertEqual(rc, 1, err)
            self.assertIn("pid %d" % pid, err)
            self.assertIn("(stale pidfile?)", err)
        with open(os.path.join(self.tmpdir, "lg.pid"), "w") as f:
            f.write("garbage\n")
        rc, out, err = self.signal_cmd("reload", path)
        self.assertEqual(rc, 1)
        self.assertIn("holds no valid pid", err)

    def test_invalid_signal(self):
        rc, out, err = self.signal_cmd("restart", self.conf())
        self.assertEqual(rc, 1)
        self.assertIn('invalid signal "restart" (use reload, stop, quit or '
                      'reopen)', err)


@unittest.skipUnless(ROOT, "the drop to another user needs root")
class TestUser(CliCase):
    def test_drops_to_nobody(self):
        p = self.proxy({"proxy": {"user": "nobody"},
                        "log": {"access": "access.log"}})
        p.wait_line(r"running as user nobody, group \S+ \(uid (\d+)")
        uids, gids = proc_ids(p.pid, "Uid"), proc_ids(p.pid, "Gid")
        self.assertNotIn(0, uids, uids)
        self.assertNotIn(0, gids, gids)
        self.assertNotIn(0, proc_ids(p.pid, "Groups"))
        # every thread, the workers too (they started before the drop)
        tasks = os.listdir("/proc/%d/task" % p.pid)
        self.assertGreater(len(tasks), 1, tasks)
        for t in tasks:
            with open("/proc/%d/task/%s/status" % (p.pid, t)) as f:
                uid_line = [l for l in f if l.startswith("Uid:")][0]
            self.assertNotIn("0", uid_line.split()[1:], (t, uid_line))
        # and still serves; the access log it created belongs to nobody
        c = self.client(p.port)
        self.assertEqual(c.request("GET", "/after-drop").status, 200)
        log = os.path.join(self.tmpdir, "access.log")
        self.assertEqual(os.stat(log).st_uid, uids[0])

    def test_reopen_of_a_root_only_log_keeps_the_old_one(self):
        log = os.path.join(self.tmpdir, "access.log")
        with open(log, "w"):
            pass
        os.chmod(log, 0o644)            # root's: nobody cannot reopen it
        p = self.proxy({"proxy": {"user": "nobody"},
                        "log": {"access": "access.log"}})
        mark = p.log.mark()
        p.send_signal(signal.SIGUSR1)
        p.signalled = False
        p.wait_line(r"error: cannot open log file %s: Permission denied; "
                    r"writing on to the file opened before" % re.escape(log),
                    since=mark)
        c = self.client(p.port)
        self.assertEqual(c.request("GET", "/still-logged").status, 200)
        c.close()
        p.stop()
        with open(log) as f:
            self.assertIn("/still-logged", f.read())


class TestServerHeader(CliCase):
    def refused(self, p):
        c = self.client(p.port)
        c.send(build_request("POST", "/", [("Transfer-Encoding", "chunked")],
                             b"1\r\nx\r\n0\r\n\r\n"))
        r = c.read_response("POST")
        self.assertEqual(r.status, 411, r)
        return r

    def test_on_by_default(self):
        r = self.refused(self.proxy())
        self.assertEqual(r.header_all("Server"), ["lengthguard"], r)

    def test_off(self):
        r = self.refused(self.proxy({"proxy": {"server_header": "off"}}))
        self.assertEqual(r.header_all("Server"), [], r)

    def test_reload_turns_it_off(self):
        p = self.proxy()
        p.settings["proxy"]["server_header"] = "off"
        write_conf(p.conf, p.settings)
        mark = p.log.mark()
        p.send_signal(signal.SIGHUP)
        p.signalled = False
        p.wait_line(r"configuration reloaded", since=mark)
        self.assertEqual(self.refused(p).header_all("Server"), [])


class TestReloadRestartOnly(CliCase):
    """A reload leaves what needs a restart as it is, and says so for each
    setting the new conf changes (README, signals)."""

    def reload_lines(self, p, section, key, value):
        p.settings.setdefault(section, {})[key] = value
        write_conf(p.conf, p.settings)
        mark = p.log.mark()
        p.send_signal(signal.SIGHUP)
        p.signalled = False
        p.wait_line(r"configuration reloaded", since=mark)
        return p.log.lines()[mark:]

    def test_workers_changed(self):
        p = self.proxy({"proxy": {"workers": "1"}})
        said = [l for l in self.reload_lines(p, "proxy", "workers", "2")
                if "takes effect on restart" in l]
        self.assertEqual(len(said), 1, said)
        self.assertIn("[proxy] workers changed", said[0])
        # the same count again: nothing to say
        said = [l for l in self.reload_lines(p, "proxy", "workers", "2")
                if "takes effect on restart" in l]
        self.assertEqual(said, [])


def journal_env(value):
    """preexec_fn: set JOURNAL_STREAM in the child, before exec; value None
    names the child's own stderr, as systemd does."""
    def fn():
        if value is None:
            st = os.fstat(2)
            os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        else:
            os.environ["JOURNAL_STREAM"] = value
    return fn


class TestJournal(CliCase):
    def test_no_time_stamp_under_the_journal(self):
        p = self.proxy(preexec_fn=journal_env(None))
        m = p.wait_line(r"listening on")
        self.assertRegex(m.string, r"^<6>info: listening on 127\.0\.0\.1:%d "
                         % p.port)

    def test_time_stamp_when_stderr_is_not_the_journal(self):
        # inherited from a parent whose stderr was the journal
        p = self.proxy(preexec_fn=journal_env("1:1"))
        m = p.wait_line(r"listening on")
        self.assertRegex(m.string, STAMP_RX + r"info: listening on ")


if __name__ == "__main__":
    unittest.main()
