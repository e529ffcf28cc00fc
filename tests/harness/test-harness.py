"""The harness's own plumbing: Daemon, run_once, write_secret, Notify, wait_until, Tap.

Uses stand-in programs rather than inferwatchd, so that it tests the harness alone."""

import os
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iw  # noqa: E402

# Behaves as a daemon would for the harness: reads -c CONF, logs, obeys SIGTERM, notifies.
FAKE_DAEMON = r"""#!/bin/sh
[ "$1" = "-c" ] || exit 64
conf=$2; shift 2
echo "config: $(cat "$conf")"
echo "args: $*" >&2
case "$1" in
once) exit 3 ;;
esac
trap 'echo stopping >&2; exit 0' TERM
[ -n "$NOTIFY_SOCKET" ] && systemd-notify --ready --status="watching 2 deployments"
while :; do sleep 0.05; done
"""


def main(t):
    fake = os.path.join(iw.tmpdir("fake-"), "fake-daemon")
    with open(fake, "w") as f:
        f.write(FAKE_DAEMON)
    os.chmod(fake, 0o755)

    path = iw.write_secret("api-key", "29841$secret")
    t.eq((open(path).read(), stat.S_IMODE(os.stat(path).st_mode)), ("29841$secret", 0o600),
         "write_secret: the value, mode 0600")

    t.eq(iw.run_once("a = 1;", ["once"], binary=fake), (3, "config: a = 1;\n", "args: once\n"),
         "run_once: (returncode, stdout, stderr)")
    d = iw.Daemon("a = 1;", ["once"], binary=fake)
    t.eq(d.wait_exit(5), 3, "Daemon: wait_exit returns the status")
    t.eq((d.stdout(), d.stderr()), ("config: a = 1;\n", "args: once\n"), "Daemon: stdout and stderr captured")
    t.eq(stat.S_IMODE(os.stat(d.config_path).st_mode), 0o600, "Daemon: the config is mode 0600")

    notify = iw.Notify()
    d = iw.Daemon("b = 2;", [], env=notify.env, binary=fake)
    msg = notify.wait_for("READY=1", 10)
    t.ok("STATUS=watching 2 deployments" in msg, "Notify: READY=1 and STATUS= arrive", msg)
    t.eq(d.returncode, None, "Daemon: running")
    t.eq(d.stop(5), 0, "Daemon: stop() sends SIGTERM and returns the status")
    t.ok("stopping" in d.stderr(), "Daemon: it saw SIGTERM")
    d = iw.Daemon("c = 3;", [], binary=fake)
    iw.wait_until(lambda: "args" in d.stderr(), 5, "the fake daemon to start")
    d.kill()
    t.eq(d.returncode, -signal.SIGKILL, "Daemon: kill() is SIGKILL")

    t0 = time.monotonic()
    try:
        iw.wait_until(lambda: False, 0.2, "never")
        t.ok(False, "wait_until: times out")
    except TimeoutError as e:
        t.ok("never" in str(e) and time.monotonic() - t0 < 1, "wait_until: TimeoutError(what) when due")
    t.eq(iw.wait_until(lambda: 42, 1), 42, "wait_until: returns the truthy value")

    # A failing case must yield "not ok" and exit 1; run it as a separate script.
    script = ("import sys; sys.path.insert(0, %r); import iw\n"
              "def main(t):\n"
              "    t.ok(True, 'fine')\n"
              "    with t.case('broken'):\n"
              "        raise ValueError('boom')\n"
              "    raise KeyError('escaped')\n"
              "iw.run(main)\n" % os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, timeout=30)
    out = p.stdout.decode()
    t.ok(p.returncode == 1 and "ok 1 - fine" in out and "not ok 2 - broken" in out and "ValueError: boom" in out
         and "not ok 3 - test raised an exception" in out and out.rstrip().endswith("1..3"),
         "Tap: exceptions become not ok with a traceback, the plan is printed, exit 1", out)
    p = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import iw; iw.Tap().skip_all('why')"
                        % os.path.dirname(os.path.abspath(__file__))], stdout=subprocess.PIPE, timeout=30)
    t.eq((p.returncode, p.stdout.decode()), (0, "1..0 # SKIP why\n"), "Tap: skip_all")


iw.run(main)
