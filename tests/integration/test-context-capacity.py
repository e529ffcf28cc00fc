"""A region that stays short of ready, with no error message: the alert names the capacity left
for the deployment's flavor in that region, from one capacity request, and fetches no log tail
(there is no failing region to show)."""

import scenario

scenario.begin()
import iw  # noqa: E402


def main(t):
    sim_scenario = {
        "regions": [{"id": 7, "display_name": "Luxembourg-2"}, {"id": 1, "display_name": "Paris-1"}],
        "capacity": [{"region_id": 7, "capacity": [{"flavor_name": "1xA100", "capacity": 0}]},
                     {"region_id": 1, "capacity": [{"flavor_name": "1xA100", "capacity": 3}]}],
        "deployments": [{"project_id": 1, "name": "slow", "status": "DEPLOYING", "regions": [1, 7],
                         "flavor_name": "1xA100"}]}
    with scenario.World(sim_scenario) as w:
        w.start(w.config([(1, ["slow"])], stuck_after='"3s"'))
        w.wait_event("deployment.discovered", DEPLOYMENT="slow")
        w.sim.set(1, "slow", containers=[{"region_id": 1, "ready": 1, "total": 1},
                                         {"region_id": 7, "ready": 0, "total": 1}])
        firing = w.wait_event("alert.firing", DEPLOYMENT="slow", timeout=30)[0]
        t.eq((firing.get("SHORT_REGION_ID"), firing.get("CAPACITY"), firing.get("CAPACITY_HINT")),
             ("7", "0", "capacity for 1xA100 in Luxembourg-2 (7): 0"), "alert.firing: the short region's capacity")
        t.ok(firing["MESSAGE"].endswith("; capacity for 1xA100 in Luxembourg-2 (7): 0"), "said in the message",
             firing["MESSAGE"])
        c = w.sim.counters()
        t.eq((c["by_endpoint"]["capacity"], c["by_endpoint"]["logs"]), (1, 0),
             "one capacity request, no log request")
        scenario.no_sanitizer_report(t, w.daemon)


if __name__ == "__main__":
    iw.run(main)
