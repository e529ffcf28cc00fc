"""log_tail_lines = 0 turns log tails off: an image-pull incident yields a container.error and an
alert.firing that still name the region, without LOG_TAIL or LOG_TAIL_STATUS, and the logs
endpoint is never asked."""

import scenario

scenario.begin()
import iw  # noqa: E402

ERROR = 'Back-off pulling image "registry.example.com/llama:v2"'


def main(t):
    sim_scenario = {"regions": [{"id": 7, "display_name": "Luxembourg-2"}], "deployments": [
        {"project_id": 1, "name": "quiet", "status": "DEPLOYING", "regions": [1, 7]}]}
    with scenario.World(sim_scenario) as w:
        w.start(w.config([(1, ["quiet"])], log_tail_lines="0"))
        w.wait_event("deployment.discovered", DEPLOYMENT="quiet")
        iw.wait_until(lambda: any("Region directory of account main: 1 region" in m for m in w.logs()), 15,
                      "the region directory")
        w.sim.set(1, "quiet", status="PARTIALLYDEPLOYED", containers=[
            {"region_id": 1, "ready": 1, "total": 1},
            {"region_id": 7, "ready": 0, "total": 1, "error_message": ERROR}])
        err = w.wait_event("container.error", DEPLOYMENT="quiet")[0]
        firing = w.wait_event("alert.firing", DEPLOYMENT="quiet")[0]
        for e, what in ((err, "container.error"), (firing, "alert.firing")):
            t.eq(e.get("REGION_NAME"), "Luxembourg-2", what + ": the region is still named")
            t.eq((e.get("LOG_TAIL"), e.get("LOG_TAIL_STATUS")), (None, None), what + ": no LOG_TAIL, no LOG_TAIL_STATUS")
        t.eq(w.sim.counters()["by_endpoint"]["logs"], 0, "the logs endpoint is never asked")
        scenario.no_sanitizer_report(t, w.daemon)


if __name__ == "__main__":
    iw.run(main)
