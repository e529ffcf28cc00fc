"""A "*" project through the paginated list: every deployment discovered across several pages,
created ones discovered, deleted ones gone (confirmed by a get-one), and a stable project costs
one request per page per interval."""

import scenario

scenario.begin()
import iw  # noqa: E402


def main(t):
    sim_scenario = {"fleets": [{"project_id": 2, "prefix": "svc-", "count": 8, "status": "ACTIVE"}]}
    with scenario.World(sim_scenario) as w:
        w.start(w.config([(2, "*")], account_extra="page_size = 3;"))
        found = w.wait_event("deployment.discovered", count=8)
        names = sorted(e["DEPLOYMENT"] for e in found)
        t.eq(names, ["svc-%05d" % i for i in range(8)], "all 8 deployments discovered across 3 pages")
        t.ok(all(e["PROJECT_ID"] == "2" for e in found), "in project 2")

        w.sim.create(2, "new-a", status="DEPLOYING")
        w.sim.create(2, "new-b", status="ACTIVE")
        for name in ("svc-00001", "svc-00004", "svc-00007"):
            w.sim.delete(2, name)
        w.wait_event("deployment.discovered", DEPLOYMENT="new-a")
        w.wait_event("deployment.discovered", DEPLOYMENT="new-b")
        gone = w.wait_event("deployment.gone", count=3)
        t.eq(sorted(e["DEPLOYMENT"] for e in gone), ["svc-00001", "svc-00004", "svc-00007"], "the three deleted ones are gone")
        t.eq({e["OLD_STATUS"] for e in gone}, {"ACTIVE"}, "gone carries the last status")
        t.eq(len(w.events(EVENT="deployment.discovered")), 10, "no deployment discovered twice")
        c = w.sim.counters()
        t.ok(all(c["by_deployment"].get("2/" + n, 0) >= 1 for n in ("svc-00001", "svc-00004", "svc-00007")),
             "each disappearance was confirmed by a get-one before being reported", diag=str(c["by_deployment"]))

        # A transitional deployment of a "*" project is also polled on its own, quickly.
        n = c["by_deployment"].get("2/new-a", 0)
        iw.wait_until(lambda: w.sim.counters()["by_deployment"].get("2/new-a", 0) >= n + 3, 10,
                      "fast polls of the DEPLOYING one")
        w.sim.set(2, "new-a", status="ACTIVE", ready=1)
        w.wait_event("deployment.status_changed", DEPLOYMENT="new-a")

        # Stable: list pages only. 7 deployments, page size 3: 3 pages a cycle, no get-one.
        w.wait_event("deployment.health_changed", DEPLOYMENT="new-a", HEALTH="healthy")
        lists = lambda: w.sim.counters()["by_project_list"].get("2", 0)  # noqa: E731
        settled = lists() + 3
        iw.wait_until(lambda: lists() >= settled, 10, "one more list cycle")
        before = w.sim.counters()
        iw.wait_until(lambda: lists() >= before["by_project_list"]["2"] + 9, 20, "three more list cycles")
        after = w.sim.counters()
        t.eq(after["by_endpoint"]["get"] - before["by_endpoint"]["get"], 0,
             "stable deployments of a * project cost no get-one request")
        pages = after["by_project_list"]["2"] - before["by_project_list"]["2"]
        t.ok(9 <= pages <= 11, "three pages per list cycle", diag="%d pages in three cycles" % pages)
        t.eq(len(w.events(EVENT="deployment.gone")), 3, "nothing else reported gone")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
