"""The rollout story through the real daemon, the simulator and a private journald:
DEPLOYING → PARTIALLYDEPLOYED with an image-pull error in one region → error cleared →
ACTIVE gives exactly the expected events, one alert.firing and one alert.resolved."""

import scenario

scenario.begin()
import iw  # noqa: E402

ERROR = 'Failed to pull image "registry.example.com/llama:v2": not found'
FIRING_ID = "203da104fd8e46678b22c4e1b4790db7"
RESOLVED_ID = "e053520ec11f438593c5ccd333365aa6"


def main(t):
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "llama", "status": "DEPLOYING", "regions": [1, 7]},
        {"project_id": 1, "name": "steady", "status": "ACTIVE", "regions": [1]},
    ]}
    with scenario.World(sim_scenario) as w:
        w.start(w.config([(1, ["llama", "steady"])]))
        w.wait_event("deployment.discovered", DEPLOYMENT="llama")
        w.wait_event("deployment.discovered", DEPLOYMENT="steady")

        w.sim.set(1, "llama", status="PARTIALLYDEPLOYED", containers=[
            {"region_id": 1, "ready": 1, "total": 1},
            {"region_id": 7, "ready": 0, "total": 1, "error_message": ERROR}])
        firing = w.wait_event("alert.firing", DEPLOYMENT="llama")[0]
        w.sim.set(1, "llama", containers=[{"region_id": 7, "error_message": None}])
        resolved = w.wait_event("alert.resolved", DEPLOYMENT="llama")[0]
        w.sim.set(1, "llama", status="ACTIVE", containers=[{"region_id": 7, "ready": 1}])
        w.wait_event("deployment.health_changed", DEPLOYMENT="llama", HEALTH="healthy")
        # A few more fast polls: nothing else may be said about a settled deployment.
        polls = w.sim.counters()["by_deployment"].get("1/llama", 0)
        iw.wait_until(lambda: w.sim.counters()["by_deployment"].get("1/llama", 0) >= polls + 4, 20, "more polls")

        got = w.types(DEPLOYMENT="llama")
        t.eq(got, [
            "deployment.discovered",
            "deployment.status_changed", "container.ready_changed", "container.error",
            "deployment.health_changed",
            "alert.firing",
            "container.error_cleared", "deployment.health_changed", "alert.resolved",
            "deployment.status_changed", "container.ready_changed", "deployment.health_changed",
        ], "exactly the expected sequence of events for the rolling deployment")
        t.eq(w.types(DEPLOYMENT="steady"), ["deployment.discovered"], "the steady deployment: discovered, then silence")

        ev = {}
        for e in w.events(DEPLOYMENT="llama"):
            ev.setdefault(e["EVENT"], []).append(e)
        sc = ev["deployment.status_changed"][0]
        t.eq((sc["OLD_STATUS"], sc["NEW_STATUS"]), ("DEPLOYING", "PARTIALLYDEPLOYED"), "status_changed carries old and new status")
        t.eq(sc["MESSAGE_ID"], "1d67a91eb708454fb5a3c87da21bc112", "status_changed has its MESSAGE_ID")
        t.ok(sc["MESSAGE"].startswith("llama (project 1): DEPLOYING → PARTIALLYDEPLOYED after "), "human MESSAGE line", diag=sc["MESSAGE"])
        t.ok(sc["SECONDS_IN_PREVIOUS"].isdigit(), "SECONDS_IN_PREVIOUS is a number")

        ce = ev["container.error"][0]
        t.eq((ce["REGION_ID"], ce["ERROR_MESSAGE"], ce["READY"], ce["TOTAL"], ce["PRIORITY"]),
             ("7", ERROR, "0", "1", "3"), "container.error: region, message, ready/total, priority err")
        t.eq((ce["PROJECT_ID"], ce["SYSLOG_IDENTIFIER"], ce["ACCOUNT"]), ("1", "inferwatchd", "main"), "identity fields")
        t.ok(len(ce["EVENT_ID"]) == 36, "EVENT_ID is a UUID")

        hc = ev["deployment.health_changed"]
        t.eq([(e["OLD_HEALTH"], e["HEALTH"]) for e in hc],
             [("progressing", "degraded"), ("degraded", "progressing"), ("progressing", "healthy")],
             "health: progressing → degraded → progressing → healthy")
        t.eq(hc[0]["PRIORITY"], "4", "degraded is a warning")

        t.eq(firing["MESSAGE_ID"], FIRING_ID, "alert.firing MESSAGE_ID")
        t.eq((firing["SEVERITY"], firing["PRIORITY"], firing["REGIONS"], firing["REGION_ID"], firing["ERROR_MESSAGE"]),
             ("warning", "3", "7", "7", ERROR), "alert.firing: severity, priority, regions, error")
        t.eq(resolved["MESSAGE_ID"], RESOLVED_ID, "alert.resolved MESSAGE_ID")
        t.eq(resolved["ALERT_ID"], firing["ALERT_ID"], "resolved carries the firing's ALERT_ID")
        t.eq(resolved["PRIORITY"], "5", "resolved is a notice")
        t.eq(len(w.events(MESSAGE_ID=FIRING_ID)), 1, "one alert.firing in the whole journal")
        t.eq(len(w.events(MESSAGE_ID=RESOLVED_ID)), 1, "one alert.resolved in the whole journal")

        errors = ev["container.error_cleared"][0]
        t.eq((errors["REGION_ID"], errors["OLD_ERROR_MESSAGE"]), ("7", ERROR), "error_cleared names the old message")

        w.daemon.stop()
        t.eq(w.daemon.returncode, 0, "SIGTERM: clean exit 0")
        w.wait_event("monitor.stopping")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
