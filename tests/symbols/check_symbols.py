#!/usr/bin/env python3
"""check_symbols.py - the symbol boundary of the core (see CMakeLists.txt).

usage:
  check_symbols.py undefined NM ARCHIVE [--sanitizer]
      Every symbol ARCHIVE (the lengthguard_core library) needs from
      outside is llhttp's or in ALLOWED, memory and string functions of the
      C library: no I/O, no sockets, no event loop, no abort or exit. The
      core must run inside someone else's process (an LD_PRELOAD front end).
  check_symbols.py exports NM SHARED_LIB EXPECTED [--sanitizer]
      SHARED_LIB exports EXPECTED and nothing else of its own: none of the
      core's, pages', conf's or llhttp's symbols (hidden visibility), so a
      preloaded library never takes the place of a host's own llhttp/md4c.

--sanitizer also accepts the ASan/UBSan runtime's symbols. Prints what it
checked; exits 1 on a violation.
"""
import re
import subprocess
import sys

# the C library functions the core may call
ALLOWED = {
    "memchr", "memcmp", "memcpy", "memmem", "memmove", "memset",
    "strchr", "strcmp", "strlen", "strncmp",
    "malloc", "calloc", "realloc", "free",
    "gmtime_r",         # httpdate.c: pure arithmetic, no locale, no I/O
}
# what the linker defines (position-independent code refers to it)
LINKER = {"_GLOBAL_OFFSET_TABLE_"}
SANITIZER = re.compile(r"^__(asan|ubsan|sanitizer|lsan)_")
# what a shared object always defines (linker and C runtime)
RUNTIME = {"_init", "_fini", "_edata", "_end", "__bss_start"}
CORE_PREFIXES = ("llhttp_", "llhttp__", "framing_", "response_", "fields_",
                 "reason_", "accept_", "httpdate_", "pages_", "conf_")


def nm(tool, args):
    out = subprocess.run([tool] + args, check=True, capture_output=True,
                         text=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        # -P: "name type [value size]"; archive member headers end in ':'
        if len(parts) >= 2 and not parts[0].endswith(":"):
            syms.add(parts[0].split("@")[0])
    return syms


def allowed_libc(name):
    m = re.match(r"^__(\w+)_chk$", name)     # _FORTIFY_SOURCE variants
    return name in ALLOWED or (m is not None and m.group(1) in ALLOWED)


def undefined(tool, archive, sanitizer):
    need = nm(tool, ["-u", "-P", archive])
    defined = nm(tool, ["-P", "--defined-only", archive])
    # what one member of the archive gives another is not needed from outside
    need -= defined
    bad = sorted(s for s in need
                 if not s.startswith("llhttp_") and not allowed_libc(s)
                 and s not in LINKER
                 and not (sanitizer and SANITIZER.match(s)))
    ok = "framing_feed" in defined and any(s.startswith("llhttp_") for s in need)
    print("%s: %d symbols needed from outside: %s" %
          (archive, len(need), " ".join(sorted(need))))
    if not ok:
        print("FAIL: not the core archive (no framing_feed, or no llhttp call)")
        return 1
    if bad:
        print("FAIL: the core calls what it must not: %s" % " ".join(bad))
        return 1
    return 0


def exports(tool, lib, expected, sanitizer):
    syms = nm(tool, ["-D", "-P", "--defined-only", lib])
    ours = sorted(s for s in syms - RUNTIME
                  if not (sanitizer and SANITIZER.match(s)))
    print("%s exports: %s" % (lib, " ".join(ours)))
    if expected not in syms:
        print("FAIL: %s is not exported: not the probe library" % expected)
        return 1
    leaked = [s for s in ours if s != expected]
    core = [s for s in leaked if s.startswith(CORE_PREFIXES)]
    if leaked:
        print("FAIL: exported besides %s: %s%s" % (expected, " ".join(leaked),
              " (core, pages, conf or llhttp: %s)" % " ".join(core) if core else ""))
        return 1
    return 0


def main(argv):
    sanitizer = "--sanitizer" in argv
    args = [a for a in argv[1:] if a != "--sanitizer"]
    if len(args) == 3 and args[0] == "undefined":
        return undefined(args[1], args[2], sanitizer)
    if len(args) == 4 and args[0] == "exports":
        return exports(args[1], args[2], args[3], sanitizer)
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
