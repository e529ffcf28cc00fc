"""The capacity hint never costs an alert: with the capacity endpoint answering 500, garbage, or
hanging, a scheduling failure's container.error and alert.firing still go out (the log tail
still attached), without CAPACITY or CAPACITY_HINT and without the hint in the message, and
CAPACITY_STATUS says why; one capacity request for the incident, which --status counts as
failed. Each fault
in a daemon of its own: an account's capacity answer, or its failure, serves a minute."""

import scenario

scenario.begin()
import iw  # noqa: E402

NO_GPU = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
CAPACITY = [{"region_id": 7, "capacity": [{"flavor_name": "1xA100", "capacity": 0}]}]
FAULTS = [
    ("500", dict(kind="status", status=500), "could not be fetched: HTTP 500"),
    ("garbage", dict(kind="malformed"), "could not be fetched: unusable answer"),
    ("hang", dict(kind="hang"), "could not be fetched: no answer within 2s"),
]


def main(t):
    for what, fault, status in FAULTS:
        sim_scenario = {"regions": [{"id": 7, "display_name": "Luxembourg-2"}], "capacity": CAPACITY,
                        "deployments": [{"project_id": 1, "name": "gpu", "status": "DEPLOYING", "regions": [1, 7],
                                         "flavor_name": "1xA100"}]}
        with scenario.World(sim_scenario) as w:
            # A long account timeout: a hung capacity request stays hung while the alert must go out.
            conf = w.config([(1, ["gpu"])]).replace('timeout = "2s"', 'timeout = "30s"')
            w.start(conf)
            w.wait_event("deployment.discovered", DEPLOYMENT="gpu")
            kind = fault.pop("kind")
            w.sim.fault(kind, endpoint="capacity", **fault)
            w.sim.set(1, "gpu", status="PARTIALLYDEPLOYED", containers=[
                {"region_id": 1, "ready": 1, "total": 1},
                {"region_id": 7, "ready": 0, "total": 1, "error_message": NO_GPU}])
            err = w.wait_event("container.error", DEPLOYMENT="gpu", timeout=20)[0]
            firing = w.wait_event("alert.firing", DEPLOYMENT="gpu", timeout=20)[0]
            for e, name in ((err, "container.error"), (firing, "alert.firing")):
                label = "capacity %s: %s" % (what, name)
                t.ok("CAPACITY" not in e and "CAPACITY_HINT" not in e and "capacity for" not in e["MESSAGE"],
                     label + ": goes out without the hint", e["MESSAGE"])
                t.ok(e.get("CAPACITY_STATUS", "").startswith(status), label + ": CAPACITY_STATUS says why",
                     e.get("CAPACITY_STATUS"))
                t.eq(e.get("LOG_TAIL_STATUS"), "ok", label + ": the log tail still attached")
            c = w.sim.counters()
            t.eq(c["by_endpoint"]["capacity"], 1, "capacity %s: one capacity request for the incident" % what)
            if what != "hang":  # a hung request is answered when the fault is cleared
                rc, out, _ = iw.run_once(conf, ["--status"])
                t.ok(rc == 0 and "1 capacity (1 failed)" in out, "capacity %s: --status counts it failed" % what, out)
            scenario.no_sanitizer_report(t, w.daemon)


if __name__ == "__main__":
    iw.run(main)
