"""Context never costs an alert: with the regions endpoint down at start, events show region
ids, then names once it answers; with the logs endpoint failing (HTTP 500), answering garbage,
or hanging, container.error and alert.firing still go out, without LOG_TAIL, and
LOG_TAIL_STATUS says the tail could not be fetched; a hung logs request does not hold the
alert back beyond the 2 s wait. A region in MAINTENANCE is said so in the message. A
scheduling failure names the capacity left for the flavor in that region, at one capacity
request for the incident."""

import json

import scenario

scenario.begin()
import iw  # noqa: E402

REGIONS = [{"id": 7, "display_name": "Luxembourg-2"}, {"id": 8, "display_name": "Paris-1", "state": "MAINTENANCE"}]
ERROR = "Back-off restarting failed container"
NO_GPU = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
CAPACITY = [{"region_id": 7, "capacity": [{"flavor_name": "1xA100", "capacity": 0},
                                          {"flavor_name": "1xH100", "capacity": 4}]},
            {"region_id": 8, "capacity": [{"flavor_name": "1xA100", "capacity": 9}]}]


def fail_region(w, name, region, error=ERROR):
    w.sim.set(1, name, status="PARTIALLYDEPLOYED", containers=[
        {"region_id": 1, "ready": 1, "total": 1},
        {"region_id": region, "ready": 0, "total": 1, "error_message": error}])


def check_no_tail(t, e, reason, what):
    t.ok("LOG_TAIL" not in e, what + ": no LOG_TAIL")
    status = e.get("LOG_TAIL_STATUS", "")
    t.ok(status.startswith("could not be fetched: " + reason), what + ": LOG_TAIL_STATUS says why", status)


def delay(w, name, e):
    """Seconds from the simulator's change of deployment name to the journal entry e."""
    changed = [c for c in w.sim.changes() if c["name"] == name][-1]["realtime_us"]
    return (int(e["__REALTIME_TIMESTAMP"]) - changed) / 1e6


def main(t):
    names = ["a", "b", "c", "gpu"]
    sim_scenario = {"regions": REGIONS, "capacity": CAPACITY, "deployments": [
        {"project_id": 1, "name": n, "status": "DEPLOYING", "regions": [1, 7, 8], "flavor_name": "1xA100"}
        for n in names]}
    with scenario.World(sim_scenario) as w:
        w.sim.fault("status", status=503, endpoint="regions")
        # A long account timeout: a hung logs request stays hung while the alert must go out.
        w.start(w.config([(1, names)]).replace('timeout = "2s"', 'timeout = "30s"'))
        for n in names:
            w.wait_event("deployment.discovered", DEPLOYMENT=n)

        # Regions down, logs answering 500.
        w.sim.fault("status", status=500, endpoint="logs", count=1)
        fail_region(w, "a", 7)
        err = w.wait_event("container.error", DEPLOYMENT="a")[0]
        firing = w.wait_event("alert.firing", DEPLOYMENT="a")[0]
        t.ok("REGION_NAME" not in err and err["MESSAGE"] == "a (project 1): region 7: " + ERROR,
             "regions endpoint down: the region is shown by its id", err["MESSAGE"])
        check_no_tail(t, err, "HTTP 500", "logs 500: container.error")
        check_no_tail(t, firing, "HTTP 500", "logs 500: alert.firing")
        t.eq(w.sim.counters()["by_logs"].get("1/a/7"), 1, "logs 500: one request for the incident, not per poll")
        t.diag("figure: logs 500: container.error %.2fs, alert.firing %.2fs after the change"
               % (delay(w, "a", err), delay(w, "a", firing)))

        # The regions endpoint comes back: names from then on.
        w.sim.clear_faults()
        iw.wait_until(lambda: any("Region directory of account main: 2 regions" in m for m in w.logs()), 40,
                      "the region directory once the endpoint answers")
        w.sim.fault("malformed", endpoint="logs", count=1)
        fail_region(w, "b", 7)
        err = w.wait_event("container.error", DEPLOYMENT="b")[0]
        t.eq((err.get("REGION_NAME"), err["MESSAGE"]), ("Luxembourg-2", "b (project 1): region Luxembourg-2 (7): " + ERROR),
             "regions back: names")
        check_no_tail(t, err, "unusable answer", "logs garbage: container.error")
        firing = w.wait_event("alert.firing", DEPLOYMENT="b")[0]
        t.diag("figure: logs garbage: container.error %.2fs, alert.firing %.2fs after the change"
               % (delay(w, "b", err), delay(w, "b", firing)))

        # A scheduling failure: the capacity left for the flavor in that region.
        t.eq(w.sim.counters()["by_endpoint"]["capacity"], 0, "capacity: not asked for other errors")
        fail_region(w, "gpu", 7, NO_GPU)
        err = w.wait_event("container.error", DEPLOYMENT="gpu")[0]
        firing = w.wait_event("alert.firing", DEPLOYMENT="gpu")[0]
        for e, what in ((err, "container.error"), (firing, "alert.firing")):
            t.eq((e.get("CAPACITY"), e.get("CAPACITY_HINT")), ("0", "capacity for 1xA100 in Luxembourg-2 (7): 0"),
                 what + ": CAPACITY and CAPACITY_HINT")
            t.ok(e["MESSAGE"].endswith("; capacity for 1xA100 in Luxembourg-2 (7): 0"), what + ": said in the message",
                 e["MESSAGE"])
        t.eq(w.sim.counters()["by_endpoint"]["capacity"], 1, "capacity: one request for the incident")

        # Logs hang: the event goes out after the 2 s wait while the request is still hung.
        hang = w.sim.fault("hang", endpoint="logs")
        fail_region(w, "c", 8)
        err = w.wait_event("container.error", DEPLOYMENT="c", timeout=20)[0]
        t.ok(any(f["id"] == hang for f in w.sim.faults()), "logs hang: the event came while the request hung")
        check_no_tail(t, err, "no answer within 2s", "logs hang: container.error")
        held = delay(w, "c", err)
        t.ok(held < 8, "logs hang: the event is not held for the request (2 s wait, 30 s timeout)", held)
        t.diag("figure: logs hang: container.error %.2fs after the change" % held)
        t.eq(err.get("REGION_STATE"), "MAINTENANCE", "maintenance: REGION_STATE")
        t.ok(err["MESSAGE"].endswith("(region Paris-1 (8) is in MAINTENANCE)"), "maintenance: said in the message",
             err["MESSAGE"])
        firing = w.wait_event("alert.firing", DEPLOYMENT="c")[0]
        t.ok("MAINTENANCE" in firing["MESSAGE"], "maintenance: said in the alert", firing["MESSAGE"])
        w.sim.clear_faults()
        t.eq(w.sim.counters()["by_logs"].get("1/c/8"), 1, "logs hang: one request, the alert reuses it")
        c = w.sim.counters()
        t.diag("figure: requests: logs %s; regions %d; capacity %d"
               % (json.dumps(c["by_logs"], sort_keys=True), c["by_endpoint"]["regions"], c["by_endpoint"]["capacity"]))
        scenario.no_sanitizer_report(t, w.daemon)


if __name__ == "__main__":
    iw.run(main)
