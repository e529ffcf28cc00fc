"""Damping and the alert lifecycle through the real daemon: a deployment flapping between ACTIVE
and PARTIALLYDEPLOYED on every poll gives one alert, not one per flip; one stuck in DEPLOYING
longer than stuck_after gets deployment.stuck; a PENDING (scaled to zero) cycle gives no alert."""

import scenario

scenario.begin()
import iw  # noqa: E402

BAD = {"status": "PARTIALLYDEPLOYED", "containers": [{"region_id": 1, "ready": 1, "total": 1},
                                                     {"region_id": 2, "ready": 0, "total": 1,
                                                      "error_message": "CrashLoopBackOff"}]}
GOOD = {"status": "ACTIVE", "containers": [{"region_id": 1, "ready": 1, "total": 1},
                                           {"region_id": 2, "ready": 1, "total": 1, "error_message": None}]}


def polls(w, name):
    return w.sim.counters()["by_deployment"].get("1/" + name, 0)


def flip_every_poll(t, w, flips):
    """Switches the deployment after every poll the daemon makes of it."""
    for i in range(flips):
        n = polls(w, "flappy")
        w.sim.set(1, "flappy", **(BAD if i % 2 == 0 else GOOD))
        iw.wait_until(lambda: polls(w, "flappy") > n, 10, "the next poll of flappy")


def main(t):
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "flappy", "status": "ACTIVE", "regions": [1, 2]},
        {"project_id": 1, "name": "slow", "status": "DEPLOYING", "regions": [1]},
        {"project_id": 1, "name": "sleepy", "status": "ACTIVE", "regions": [1]},
    ]}
    with scenario.World(sim_scenario) as w:
        w.start(w.config([(1, ["flappy", "slow", "sleepy"])], stuck_after='"3s"', flap_stable='"2s"'))
        for name in ("flappy", "slow", "sleepy"):
            w.wait_event("deployment.discovered", DEPLOYMENT=name)

        # Flapping: one alert, kept open while it flaps, resolved once calm.
        flip_every_poll(t, w, 16)
        w.sim.set(1, "flappy", **GOOD)
        w.wait_event("alert.resolved", DEPLOYMENT="flappy", timeout=20)
        firing = w.events(DEPLOYMENT="flappy", EVENT="alert.firing")
        t.eq(len(firing), 1, "16 flips, one alert.firing")
        t.eq(len(w.events(DEPLOYMENT="flappy", EVENT="alert.resolved")), 1, "and one alert.resolved")
        t.eq(firing[0].get("FLAPPING"), "yes", "the alert says it opened for flapping")
        flips = len(w.events(DEPLOYMENT="flappy", EVENT="deployment.status_changed"))
        t.ok(flips >= 16, "every flip was still reported as a status change", diag="%d status changes" % flips)
        # ... but as a flap: one deployment.flapping, the flips at debug, and "journalctl -p
        # warning" sees a handful of entries, not one per flip.
        w.wait_event("deployment.flapping_ended", DEPLOYMENT="flappy", timeout=20)
        t.eq(len(w.events(DEPLOYMENT="flappy", EVENT="deployment.flapping")), 1, "one deployment.flapping")
        loud = [e["EVENT"] for e in w.events(DEPLOYMENT="flappy") if int(e["PRIORITY"]) <= 4]
        t.ok(len(loud) <= 6, "at most 6 journal entries at warning or worse for 16 flips", diag=loud)
        t.ok(len([e for e in w.events(DEPLOYMENT="flappy", FLAPPING="yes") if e["PRIORITY"] == "7"]) >= 12,
             "the flips are in the journal at debug, FLAPPING=yes")

        # Stuck: DEPLOYING for longer than stuck_after (3 s).
        stuck = w.wait_event("deployment.stuck", DEPLOYMENT="slow", timeout=15)[0]
        t.eq((stuck["STATUS"], stuck["HEALTH"], stuck["PRIORITY"]), ("DEPLOYING", "failed", "4"),
             "deployment.stuck: status, health failed (nothing serves), warning")
        t.ok(int(stuck["SECONDS_UNSETTLED"]) >= 3, "stuck after at least stuck_after", diag=stuck["SECONDS_UNSETTLED"])
        t.eq(stuck["MESSAGE_ID"], "9181b305331f4edb83b3de10ac129a1f", "deployment.stuck MESSAGE_ID")
        alert = w.wait_event("alert.firing", DEPLOYMENT="slow")[0]
        t.eq(alert["SEVERITY"], "critical", "a stuck rollout with nothing serving is critical")
        w.sim.set(1, "slow", status="ACTIVE", ready=1)
        w.wait_event("alert.resolved", DEPLOYMENT="slow")
        t.eq(len(w.events(DEPLOYMENT="slow", EVENT="deployment.stuck")), 1, "stuck reported once")

        # Scaled to zero and back: a normal cycle, no alert.
        w.sim.set(1, "sleepy", status="PENDING", ready=0, total=0)
        w.wait_event("deployment.health_changed", DEPLOYMENT="sleepy", HEALTH="idle")
        n = polls(w, "sleepy")
        iw.wait_until(lambda: polls(w, "sleepy") >= n + 3, 15, "three more polls while PENDING")
        w.sim.set(1, "sleepy", status="ACTIVE", ready=1, total=1)
        w.wait_event("deployment.health_changed", DEPLOYMENT="sleepy", HEALTH="healthy")
        t.eq([e for e in w.types(DEPLOYMENT="sleepy") if e.startswith("alert.")], [], "a PENDING cycle raises no alert")
        t.eq(w.types(DEPLOYMENT="sleepy", EVENT="deployment.status_changed"),
             ["deployment.status_changed"] * 2, "ACTIVE → PENDING → ACTIVE: two status changes")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
