"""Webhook filters: each webhook receives exactly the events of the daemon's full log that its
filters match (min_priority with deployment globs, event type globs, projects), in order."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

ERROR = [{"region_id": 1, "ready": 1}, {"region_id": 7, "ready": 0, "error_message": "Failed to pull image"}]
FIXED = {"status": "ACTIVE", "ready": 1, "containers": [{"region_id": 7, "error_message": None}]}


def main(t):
    scenario = {"deployments": [{"project_id": p, "name": n, "status": "DEPLOYING", "regions": [1, 7]}
                                for p, n in ((1, "prod-a"), (1, "dev-c"), (2, "prod-x"), (2, "stage-y"))]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        hooks = [
            h.webhook("prod-errors", sink.hook_url("/prod-errors"), min_priority="err", deployments=["prod-*"]),
            h.webhook("alerts", sink.hook_url("/alerts"), events=["alert.*"]),
            h.webhook("project-2", sink.hook_url("/project-2"), projects=[2]),
            h.webhook("p1-warnings", sink.hook_url("/p1-warnings"), projects=[1], min_priority="warning",
                      events=["deployment.*", "container.error"]),
            h.webhook("all", sink.hook_url("/all")),
        ]
        conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["prod-a", "dev-c"]},
                                                  {"id": 2, "deployments": "*"}], hooks)
        d = h.start(conf)
        iw.wait_until(lambda: sum(e["type"] == "deployment.discovered" for e in h.events(d)) == 4, 15,
                      "four discoveries")
        for p, n in ((1, "prod-a"), (1, "dev-c"), (2, "prod-x")):
            sim.set(p, n, status="PARTIALLYDEPLOYED", containers=ERROR)
        sim.set(2, "stage-y", status="ACTIVE", ready=1)
        iw.wait_until(lambda: sum(e["type"] == "alert.firing" for e in h.events(d)) == 3, 15, "three alerts")
        for p, n in ((1, "prod-a"), (1, "dev-c"), (2, "prod-x")):
            sim.set(p, n, **FIXED)
        iw.wait_until(lambda: sum(e["type"] == "alert.resolved" for e in h.events(d)) == 3, 15, "three resolved")

        def by_path(path):
            return [x for x in sink.deliveries() if x["path"] == path]

        def matches(wh):
            return [e["id"] for e in h.events(d) if h.accepts(wh, e)]

        everything = [e["id"] for e in h.events(d)]
        iw.wait_until(lambda: all(h.ids(by_path("/" + wh["name"])) == matches(wh) for wh in hooks), 20,
                      "each webhook to get its events")
        t.eq(h.ids(by_path("/all")), everything, "without filters: the whole log (%d events)" % len(everything))
        for wh in hooks[:-1]:
            want = matches(wh)
            got = by_path("/" + wh["name"])
            t.ok(0 < len(want) < len(everything), "%s: a proper subset of the log is expected (%d of %d)"
                 % (wh["name"], len(want), len(everything)))
            t.eq(h.ids(got), want, "%s: exactly the matching events, in order" % wh["name"])

        def delivered(name):
            return [h.body(x) for x in by_path("/" + name)]
        errs = delivered("prod-errors")
        t.ok(all(e["priority"] in ("emerg", "alert", "crit", "err") for e in errs)
             and {e["deployment"] for e in errs} == {"prod-a", "prod-x"}
             and {"container.error", "alert.firing"} <= {e["type"] for e in errs},
             "prod-errors: err or worse, prod-* only, from both projects", [(e["type"], e["deployment"]) for e in errs])
        al = delivered("alerts")
        t.eq(sorted((e["type"], e["deployment"]) for e in al),
             sorted([(k, n) for k in ("alert.firing", "alert.resolved") for n in ("prod-a", "dev-c", "prod-x")]),
             "alerts: the three alerts firing and resolved, nothing else")
        p2 = delivered("project-2")
        t.ok(all(e["project_id"] in (2, None) for e in p2) and {"prod-x", "stage-y"} <= {e["deployment"] for e in p2},
             "project-2: project 2's events (and those about no project)")
        t.ok(any(e["project_id"] is None for e in p2),
             "project-2: events that name no project (monitor.started) pass the project filter")
        w1 = delivered("p1-warnings")
        t.ok(all(e["project_id"] in (1, None) and e["priority"] in ("err", "warning") for e in w1)
             and all(e["type"].startswith("deployment.") or e["type"] == "container.error" for e in w1)
             and len(w1) > 0, "p1-warnings: project 1, warning or worse, deployment.* and container.error",
             [(e["type"], e["priority"]) for e in w1])
        h.stop(t, d)


iw.run(main)
