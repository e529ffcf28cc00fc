"""One daemon per state directory (issue 10, item 8). Two daemons on one directory used to
overwrite each other's spool: events lost, delivered twice, out of order. A second daemon must
refuse to start, naming the directory and the PID that holds it, while the first keeps
delivering; --status says whether a daemon holds the directory, without taking it; a SIGKILL
leaves no stale lock: a new daemon starts at once."""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402


def status(t, conf, what):
    """--status as text and as JSON; both must succeed."""
    rc, text, err = iw.run_once(conf, ["--status"])
    t.eq(rc, 0, what + ": --status succeeds", diag=err)
    rc, out, err = iw.run_once(conf, ["--status", "--json"])
    t.eq(rc, 0, what + ": --status --json succeeds", diag=err)
    return text, json.loads(out) if rc == 0 else {}


def delivered(sink):
    return h.collapse(h.ids([d for d in sink.deliveries() if d["status"] == 200]))


def main(t):
    state = iw.tmpdir("state-")
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a", "status": "ACTIVE"},
                                {"project_id": 1, "name": "prod-b", "status": "ACTIVE"}]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        conf = h.config(sim, state, [{"id": 1, "deployments": ["prod-a", "prod-b"]}],
                        [h.webhook("hook", sink.hook_url())])
        first = h.start(conf)
        iw.wait_until(lambda: len(h.events(first)) >= 3 and delivered(sink) == [e["id"] for e in h.events(first)],
                      15, "the first daemon's events delivered")

        text, js = status(t, conf, "with a daemon running")
        t.ok("Daemon: running, pid %d holds %s" % (first.pid, state) in text,
             "--status names the daemon that holds the directory", diag=text)
        t.eq((js.get("running"), js.get("daemon_pid")), (True, first.pid), "--status --json: running, with its pid")

        second = h.start(conf)
        try:
            rc = second.wait_exit(15)
        except TimeoutError:
            rc = None
            second.kill()
        t.eq(rc, 1, "a second daemon on the same directory refuses to start (exit status 1)", diag=second.stderr()[-2000:])
        msgs = h.messages(second)
        t.ok(any(state in m and "in use by inferwatchd pid %d" % first.pid in m for m in msgs),
             "it says which directory, and which pid holds it", diag=repr(msgs))
        t.eq([o["type"] for o in h.log_lines(second) if "type" in o], [], "and logs no event (nothing spooled, nothing delivered)")

        sim.set(1, "prod-a", status="PARTIALLYDEPLOYED", containers=[{"region_id": 1, "ready": 0, "error_message": "boom"}])
        iw.wait_until(lambda: any(e["type"] == "container.error" for e in h.events(first)), 15, "container.error")
        iw.wait_until(lambda: delivered(sink) == [e["id"] for e in h.events(first)], 15, "the first daemon delivering")
        got = h.ids(sink.records())
        t.eq(delivered(sink), [e["id"] for e in h.events(first)],
             "the first daemon delivered each of its events, in order, the new one included")
        t.eq(len(got), len(set(got)), "and each once")
        t.eq(first.returncode, None, "the first daemon is still running")

        first.signal(signal.SIGKILL)
        first.proc.wait(10)
        text, js = status(t, conf, "after a SIGKILL")
        t.ok("Daemon: not running" in text, "--status: no daemon holds the directory", diag=text)
        t.eq((js.get("running"), js.get("daemon_pid")), (False, None), "--status --json: not running")

        third = h.start(conf)
        iw.wait_until(lambda: any(e["type"] == "monitor.started" for e in h.events(third)), 15,
                      "a new daemon to start after the SIGKILL")
        t.ok(not any("in use" in m for m in h.messages(third)), "no stale lock stops it")
        _, js = status(t, conf, "with the new daemon")
        t.eq(js.get("daemon_pid"), third.pid, "--status names the new daemon")

        # A reload that names another daemon's directory is refused; one that names a free
        # directory moves the lock there.
        projects = [{"id": 1, "deployments": ["prod-b"]}]
        other_state, free_state = iw.tmpdir("state-"), iw.tmpdir("state-")
        conf2 = h.config(sim, other_state, projects, [])
        other = h.start(conf2)
        iw.wait_until(lambda: os.path.exists(os.path.join(other_state, "state.json")), 15, "another daemon's state")
        with open(other.config_path, "w") as f:
            f.write(h.config(sim, state, projects, []))
        other.signal(signal.SIGHUP)
        iw.wait_until(lambda: any("Reloading" in m and "failed" in m for m in h.messages(other)), 15, "the reload to fail")
        t.ok(any(state in m and "in use by inferwatchd pid %d" % third.pid in m for m in h.messages(other)),
             "a reload to a directory another daemon holds is refused, and says why", diag=repr(h.messages(other)))
        t.eq(status(t, conf2, "after the refused reload")[1].get("daemon_pid"), other.pid,
             "the reloading daemon keeps its own directory")
        conf3 = h.config(sim, free_state, projects, [])
        with open(other.config_path, "w") as f:
            f.write(conf3)
        other.signal(signal.SIGHUP)
        iw.wait_until(lambda: any(e["type"] == "monitor.reloaded" for e in h.events(other)), 15, "the reload")
        iw.wait_until(lambda: os.path.exists(os.path.join(free_state, "state.json")), 15, "the state in the new directory")
        t.eq(status(t, conf3, "after a reload to a free directory")[1].get("daemon_pid"), other.pid,
             "a reload to a free directory takes its lock")
        t.eq(status(t, conf2, "the old directory")[1].get("running"), False, "and releases the old one")
        h.stop(t, other, "the reloaded daemon")
        h.stop(t, third, "the new daemon")
        with open(os.path.join(state, "inferwatchd.lock")) as f:
            t.eq(f.read().strip(), str(third.pid), "the lock file holds the pid of the last daemon (for messages)")
        h.check_clean(t, second, "the refused daemon")


iw.run(main)
