"""Flap control and error signatures as the journal shows them (issue 12), through the real
daemon, the simulator and a private journald: test-noise.py counts events in the daemon's JSON
log; this test reads what an operator reads, journalctl.

- flappy: a readiness probe failing at every other poll for 40 polls. `journalctl -p warning`
  shows a handful of its entries; every change of the flap is still in the journal, at priority
  debug with FLAPPING=yes; one deployment.flapping and one deployment.flapping_ended, with their
  MESSAGE_IDs and fields.
- newkind: the same flap, and half-way a different error on its bad polls (a new kind of
  failure during the flap): `journalctl -p err` shows it once, at its first poll; its repeats
  are the flap's, at debug; deployment.flapping_ended counts it (NEW_ERRORS=1).
- crashy: a crash-loop whose back-off and pod name change at every poll for 40 polls.
  `journalctl -p err` shows one container.error (the first text) and one alert.firing."""

import json
import subprocess

import scenario

scenario.begin()
import iw  # noqa: E402
import hooklib as h  # noqa: E402

FLAPPING_ID = "f0c8efc768164b9dbca5408d0720c244"
ENDED_ID = "069a64ecadf94a6e8ef1cc76e0cc85af"
POLLS = 40
GOOD = {"status": "ACTIVE", "containers": [{"region_id": 1, "ready": 1, "total": 1},
                                           {"region_id": 2, "ready": 3, "total": 3, "error_message": None}]}
PROBE = "Readiness probe failed: HTTP probe failed with statuscode: 503"
OOM = "OOMKilled: container llm exceeded its memory limit, exited with code 137"
PODS = ["llm-7d9f8b6c5-q2x7m", "llm-7d9f8b6c5-8kzlw", "llm-7d9f8b6c5-x5v2t"]


def bad(error, ready):
    return {"status": "PARTIALLYDEPLOYED", "containers": [{"region_id": 1, "ready": 1, "total": 1},
                                                          {"region_id": 2, "ready": ready, "total": 3,
                                                           "error_message": error}]}


def crash(i):
    return "Back-off %ds restarting failed container=llm pod=%s_default" % (10 * 2 ** min(i, 5), PODS[i % 3])


def journal(*args):
    """inferwatchd's event entries as journalctl gives them (-p, FIELD=value...), oldest first."""
    out = subprocess.run(["journalctl", "--no-pager", "-o", "json", "SYSLOG_IDENTIFIER=inferwatchd"] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20).stdout
    return [e for e in (json.loads(x) for x in out.decode().splitlines() if x.strip()) if "EVENT" in e]


NAMES = ("flappy", "newkind", "crashy")


def main(t):
    with scenario.World({"deployments": [dict(project_id=1, name=n, **GOOD) for n in NAMES]}) as w:
        w.start(w.config([(1, list(NAMES))], flap_stable='"3s"'))
        for name in NAMES:
            w.wait_event("deployment.discovered", DEPLOYMENT=name)
        h.play(w.sim, 1, {"flappy": [bad(PROBE, 2) if i % 2 == 0 else GOOD for i in range(POLLS)],
                          "newkind": [bad(PROBE if i < POLLS // 2 else OOM, 2) if i % 2 == 0 else GOOD
                                      for i in range(POLLS)],
                          "crashy": [bad(crash(i), 0) for i in range(POLLS)]}, GOOD)
        w.wait_event("deployment.flapping_ended", DEPLOYMENT="flappy", timeout=60)
        w.wait_event("deployment.flapping_ended", DEPLOYMENT="newkind", timeout=60)
        w.wait_event("alert.resolved", DEPLOYMENT="crashy", timeout=60)

        loud = journal("-p", "warning", "DEPLOYMENT=flappy")
        print("# flappy, journalctl -p warning: %s" % ", ".join("%s/%s" % (e["EVENT"], e["PRIORITY"]) for e in loud))
        t.ok(len(loud) <= 6, "flappy: at most 6 entries in journalctl -p warning", diag="%d" % len(loud))
        quiet = journal("DEPLOYMENT=flappy", "FLAPPING=yes")
        print("# flappy, FLAPPING=yes: %d entries, priorities %s"
              % (len(quiet), sorted({e["PRIORITY"] for e in quiet})))
        t.ok(len([e for e in quiet if e["EVENT"] == "deployment.status_changed"]) >= POLLS - 4,
             "flappy: every status change of the flap is in the journal with FLAPPING=yes")
        t.eq(sorted({e["EVENT"] for e in quiet if e["PRIORITY"] == "7"}),
             ["container.error", "container.error_cleared", "container.ready_changed",
              "deployment.health_changed", "deployment.status_changed"],
             "flappy: status, health, error and ready changes all logged at debug while it flaps")
        t.eq({e["PRIORITY"] for e in quiet if e["EVENT"] not in ("alert.firing", "alert.resolved")}, {"7"},
             "flappy: the changes of the flap are at debug, no higher")

        flapping = journal("MESSAGE_ID=" + FLAPPING_ID, "DEPLOYMENT=flappy")
        t.eq([(e["DEPLOYMENT"], e["PRIORITY"]) for e in flapping], [("flappy", "4")],
             "one deployment.flapping (its MESSAGE_ID), a warning, for flappy only")
        f = flapping[0]
        t.ok("status" in f["FLAPS"] and "health" in f["FLAPS"] and int(f["RETURNS"]) >= 2 and f["WINDOW_POLLS"] == "10"
             and f["STABLE_SECONDS"] == "3", "deployment.flapping says what flaps and how often", diag=f)
        ended = journal("MESSAGE_ID=" + ENDED_ID, "DEPLOYMENT=flappy")
        t.eq([(e["DEPLOYMENT"], e["PRIORITY"], e["HEALTH"]) for e in ended], [("flappy", "5", "healthy")],
             "one deployment.flapping_ended (its MESSAGE_ID), a notice, healthy again")
        t.ok(int(ended[0]["CHANGES"]) >= POLLS - 4 and int(ended[0]["SECONDS_STABLE"]) >= 3,
             "deployment.flapping_ended counts the changes and the stable time", diag=ended[0])
        t.eq(ended[0].get("NEW_ERRORS"), "0", "flappy: no new kind of error during its flap")

        # A new kind of failure during the flap is not hidden by it: once at err, then the flap's.
        errs = journal("-p", "err", "DEPLOYMENT=newkind", "EVENT=container.error")
        print("# newkind, journalctl -p err, container.error: %s" % [e["ERROR_MESSAGE"] for e in errs])
        t.eq([(e["ERROR_MESSAGE"], e["PRIORITY"], "FLAPPING" in e) for e in errs], [(PROBE, "3", False), (OOM, "3", False)],
             "newkind: journalctl -p err shows the probe error and the new OOM error once each")
        repeats = [e for e in journal("DEPLOYMENT=newkind", "EVENT=container.error") if e["ERROR_MESSAGE"] == OOM]
        t.ok(len(repeats) >= POLLS // 4 - 2 and all(e["PRIORITY"] == "7" and e.get("FLAPPING") == "yes" for e in repeats[1:]),
             "newkind: the new error's repeats in the flap are at debug with FLAPPING=yes", diag="%d" % len(repeats))
        loud = journal("-p", "warning", "DEPLOYMENT=newkind")
        print("# newkind, journalctl -p warning: %s" % ", ".join("%s/%s" % (e["EVENT"], e["PRIORITY"]) for e in loud))
        t.ok(len(loud) <= 6, "newkind: at most 6 entries in journalctl -p warning", diag="%d" % len(loud))
        ended = journal("MESSAGE_ID=" + ENDED_ID, "DEPLOYMENT=newkind")
        t.eq([(e["PRIORITY"], e.get("NEW_ERRORS")) for e in ended], [("5", "1")],
             "newkind: one deployment.flapping_ended, counting one new kind of error")
        t.ok("1 new kind of error reported during it" in ended[0]["MESSAGE"], "newkind: its message says so",
             diag=ended[0]["MESSAGE"])

        shouted = journal("-p", "err", "DEPLOYMENT=crashy")
        t.eq([e["EVENT"] for e in shouted], ["container.error", "alert.firing"],
             "crashy: journalctl -p err shows one container.error and one alert over %d polls" % POLLS)
        t.eq(shouted[0]["ERROR_MESSAGE"], crash(0), "crashy: the container.error has the first text")
        t.eq([e["EVENT"] for e in journal("DEPLOYMENT=crashy", "EVENT=container.error")], ["container.error"],
             "crashy: no other container.error at any priority")
        t.eq(journal("DEPLOYMENT=crashy", "EVENT=container.error_cleared")[0]["OLD_ERROR_MESSAGE"], crash(POLLS - 1),
             "crashy: the error's end carries its latest text")

        w.daemon.stop()
        t.eq(w.daemon.returncode, 0, "SIGTERM: clean exit 0")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
