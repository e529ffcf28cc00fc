"""Restart semantics (SPEC §5): the daemon is SIGKILLed mid-incident, the deployment changes at
the API while it is down, and after the restart nothing is announced twice, the change is
detected, and the alert that cleared meanwhile is resolved with its original id. A corrupt
state file is moved aside and reported, never fatal."""

import glob
import json
import os
import subprocess

import scenario

scenario.begin()
import iw  # noqa: E402

ERROR = "Failed to pull image"


def main(t):
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "inc", "status": "ACTIVE", "regions": [1, 7]},
        {"project_id": 1, "name": "calm", "status": "ACTIVE"},
        {"project_id": 2, "name": "listed", "status": "ACTIVE"},
    ]}
    with scenario.World(sim_scenario) as w:
        conf = w.config([(1, ["inc", "calm"]), (2, "*")])
        w.start(conf)
        w.wait_event("deployment.discovered", count=3)
        w.sim.set(1, "inc", status="PARTIALLYDEPLOYED", containers=[{"region_id": 7, "ready": 0, "error_message": ERROR}])
        firing = w.wait_event("alert.firing", DEPLOYMENT="inc")[0]
        before = w.types()

        w.daemon.kill()
        t.eq(w.daemon.returncode, -9, "killed with SIGKILL mid-incident")
        w.sim.set(1, "inc", status="ACTIVE", containers=[{"region_id": 7, "ready": 1, "error_message": None}])
        w.sim.create(2, "born-while-down", status="DEPLOYING")

        w.start(conf)
        resolved = w.wait_event("alert.resolved", DEPLOYMENT="inc")[0]
        w.wait_event("deployment.discovered", DEPLOYMENT="born-while-down")
        w.wait_event("deployment.health_changed", DEPLOYMENT="inc", HEALTH="healthy")
        after = w.types()[len(before):]
        t.eq(after.count("deployment.discovered"), 1, "after the restart only the new deployment is discovered")
        t.eq(after.count("alert.firing"), 0, "the open alert is not announced again")
        t.eq(after.count("container.error"), 0, "the container error is not announced again")
        t.eq(resolved["ALERT_ID"], firing["ALERT_ID"], "the cleared alert is resolved under its original id")
        changed = w.events(DEPLOYMENT="inc", EVENT="deployment.status_changed")[-1]
        t.eq((changed["OLD_STATUS"], changed["NEW_STATUS"]), ("PARTIALLYDEPLOYED", "ACTIVE"),
             "the change made while the daemon was down is detected")
        t.ok(int(changed["SECONDS_IN_PREVIOUS"]) >= 0, "with the time spent in the old status")
        t.eq(len(w.events(EVENT="alert.firing")), 1, "one alert.firing in all")
        t.eq(len(w.events(EVENT="alert.resolved")), 1, "one alert.resolved in all")
        w.daemon.stop()
        # A clean stop logs no error: freeing the armed polls after the loop ended once logged
        # "Failed to arm the poll timer" (ESTALE) for each deployment.
        subprocess.run(["journalctl", "--sync"], check=False, timeout=20)
        entries = w.journal.entries(SYSLOG_IDENTIFIER="inferwatchd")
        stop = max(i for i, e in enumerate(entries) if e.get("EVENT") == "monitor.stopping")
        errors = [e.get("MESSAGE", "") for e in entries[stop:] if int(e.get("PRIORITY", "6")) <= 3]
        t.eq(errors, [], "a clean stop logs no error")

        # A state file corrupt at its last deployment line: the records before it went into the
        # watches as they were read; they are dropped with the rest, and every deployment is
        # discovered afresh.
        path = os.path.join(w.state, "state.json")
        with open(path) as f:
            lines = f.read().split("\n")
        last = 1 + json.loads(lines[0])["deployments"]
        t.eq(last, 5, "the saved state holds the 4 deployments", diag=lines[0])
        lines[last - 1] = '{"url": '
        with open(path, "w") as f:
            f.write("\n".join(lines))
        n_discovered = len(w.events(EVENT="deployment.discovered"))
        w.start(conf)
        w.wait_event("deployment.discovered", count=n_discovered + 4)
        t.ok(any("state.json:%d: a deployment line is not JSON" % last in m and "moved aside" in m for m in w.logs()),
             "the cut line was reported with its number", diag="\n".join(w.logs()[-5:]))
        t.eq(len(w.events(EVENT="alert.firing")), 1, "no alert fired again: none was open")
        w.daemon.stop()
        for m in glob.glob(path + ".corrupt-*"):
            os.unlink(m)

        # A corrupt state file: moved aside, reported, and the daemon starts afresh.
        with open(path, "w") as f:
            f.write('{"version": 1, "deployments": [ {"url": ')
        n_discovered = len(w.events(EVENT="deployment.discovered"))
        w.start(conf)
        w.wait_event("deployment.discovered", count=n_discovered + 4)
        moved = glob.glob(path + ".corrupt-*")
        t.eq(len(moved), 1, "the corrupt file was moved aside", diag=str(os.listdir(w.state)))
        t.ok(any("state.json:1: the first line is not JSON" in m and "moved aside" in m for m in w.logs()),
             "and that was logged, with the file, the line and why",
             diag="\n".join(w.logs()[-5:]))
        t.eq(w.daemon.returncode, None, "still running")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
