"""format = "alertmanager" against the sink standing in for Alertmanager: only alerts are posted,
to <url>/api/v2/alerts, as API v2 alerts with identifying labels; open alerts are re-posted every
interval (also after a failed post was retried), every post of an open alert with an endsAt four
re-post periods ahead; a resolved alert is posted once with endsAt when it resolved and is not
re-posted. A second Alertmanager webhook limited to deployments = ["prod-*"] gets only
prod-a, in its posts and in its re-posts."""

import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

INTERVAL = 5
ERROR = {"status": "PARTIALLYDEPLOYED",
         "containers": [{"region_id": 1, "ready": 1}, {"region_id": 7, "ready": 0, "error_message": "Failed to pull image"}]}


def when(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def ends_ahead(delivery, alert):
    """The alert's endsAt is 4 re-post periods after the post arrived (within a second)."""
    return abs(when(alert["endsAt"]) - delivery["time_us"] / 1e6 - 4 * INTERVAL) < 1.0


def labels(name, severity="warning"):
    return {"alertname": "InferenceDeploymentUnhealthy", "project_id": "1", "deployment": name, "region_id": "7",
            "severity": severity}


def main(t):
    scenario = {"deployments": [dict(ERROR, project_id=1, name=n, regions=[1, 7]) for n in ("prod-a", "dev-b")]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        wh = h.webhook("am", sink.url + "/am", format="alertmanager")
        prod = h.webhook("am-prod", sink.url + "/prod", format="alertmanager", deployments=["prod-*"])
        sink.behave(status=503, count=1)
        d = h.start(h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["prod-a", "dev-b"]}], [wh, prod],
                             interval="%ds" % INTERVAL))

        def posts(since=0, prefix="/am/"):
            return [x for x in sink.deliveries(since) if x["status"] == 200 and x["path"].startswith(prefix)]

        iw.wait_until(lambda: sum(e["type"] == "alert.firing" for e in h.events(d)) == 2, 15, "two alerts firing")
        firing = {e["deployment"]: e for e in h.events(d) if e["type"] == "alert.firing"}
        got = iw.wait_until(lambda: (lambda p: p if len(p) >= 4 else None)(posts()), 4 * INTERVAL,
                            "the firing alerts, then two re-posts")
        t.eq(sink.deliveries()[0]["status"], 503, "the first post failed (and was retried)")
        pgot = iw.wait_until(lambda: (lambda p: p if len(p) >= 3 else None)(posts(prefix="/prod/")), 3 * INTERVAL,
                             "the filtered webhook's alert, then two re-posts")
        t.ok(all(x["path"] == "/prod/api/v2/alerts" for x in pgot), "the filtered webhook posts to its own url",
             [x["path"] for x in pgot])
        t.eq([[a["labels"] for a in h.body(x)] for x in pgot[:3]], [[labels("prod-a")]] * 3,
             "the filtered webhook: prod-a only, in its post and its re-posts")
        t.ok(all(x["path"] == "/am/api/v2/alerts" and x["method"] == "POST"
                 and x["headers"]["content-type"] == "application/json" for x in got),
             "POST <url>/api/v2/alerts, application/json", [x["path"] for x in got])
        first = [h.body(x) for x in got[:2]]
        t.ok(all(isinstance(b, list) and len(b) == 1 for b in first), "each alert event is one posted alert")
        for x, b in zip(got[:2], first):
            a = b[0]
            name = a["labels"].get("deployment")
            e = firing.get(name)
            t.ok(e is not None and a["labels"] == labels(name), "%s: the identifying labels" % name, a["labels"])
            t.ok(e is not None and abs(when(a["startsAt"]) - when(e["time"])) < 0.002 and ends_ahead(x, a)
                 and a["annotations"]["summary"] == "%s (project 1) is degraded" % name
                 and a["annotations"]["description"] == "region 7: Failed to pull image"
                 and a["generatorURL"].startswith("https://"),
                 "%s: startsAt is the firing time, endsAt 4 re-posts ahead, summary and description" % name, a)
        reposts = [h.body(x) for x in got[2:4]]
        t.ok(all(sorted(a["labels"]["deployment"] for a in b) == ["dev-b", "prod-a"] for b in reposts),
             "re-posts carry every open alert", reposts)
        t.ok(all(a["startsAt"] == next(f[0] for f in first if f[0]["labels"] == a["labels"])["startsAt"]
                 and ends_ahead(x, a) for x, b in zip(got[2:4], reposts) for a in b),
             "with their original startsAt and an endsAt 4 re-posts ahead of each")
        gap = (got[3]["time_us"] - got[2]["time_us"]) / 1e6
        t.ok(INTERVAL - 0.5 <= gap <= INTERVAL + 1.5, "re-posted every interval (%.2f s)" % gap)

        n = len(sink.deliveries())
        sim.set(1, "prod-a", status="ACTIVE", ready=1, containers=[{"region_id": 7, "error_message": None}])
        resolved = iw.wait_until(lambda: [e for e in h.events(d) if e["type"] == "alert.resolved"], 15,
                                 "alert.resolved")[0]
        rx = iw.wait_until(lambda: [x for x in posts(n) if any(abs(when(a["endsAt"]) - when(resolved["time"])) < 0.002
                                                               for a in h.body(x))], 15, "the resolved alert")[0]
        r = h.body(rx)
        t.ok(len(r) == 1 and r[0]["labels"] == labels("prod-a")
             and abs(when(r[0]["endsAt"]) - when(resolved["time"])) < 0.002
             and r[0]["startsAt"] == next(f[0] for f in first if f[0]["labels"]["deployment"] == "prod-a")["startsAt"],
             "the resolved alert: same labels, same startsAt, endsAt when it resolved", r)
        rep = h.body(iw.wait_until(lambda: [x for x in posts(rx["index"] + 1)], 3 * INTERVAL, "a re-post")[0])
        t.eq([a["labels"] for a in rep], [labels("dev-b")], "the next re-post has only the open alert")
        t.eq(sorted({e["type"] for e in h.events(d)} & {"alert.firing", "alert.resolved"}),
             ["alert.firing", "alert.resolved"], "only alerts were posted (nothing else to an Alertmanager)")
        t.ok(all(x["body"].startswith("[") for x in sink.deliveries()), "every body is an array of alerts")
        h.stop(t, d)


iw.run(main)
