"""The receiver is down for a whole incident: first it answers 503, then it hangs past the
webhook's timeout, then it refuses connections. Meanwhile a rollout goes wrong and is fixed.
Once the receiver is back, every event the daemon logged reaches it, exactly in the daemon's
order, and --status says so."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

SCENARIO = {
    "start_paused": True,
    "deployments": [
        {"project_id": 1, "name": "prod-a", "status": "DEPLOYING", "regions": [1, 7]},
        {"project_id": 1, "name": "dev-b"},
    ],
    "timeline": [
        # Phase 1 (receiver answers 503): one region cannot pull its image.
        {"at": 10, "project_id": 1, "name": "prod-a",
         "set": {"status": "PARTIALLYDEPLOYED",
                 "containers": [{"region_id": 1, "ready": 1},
                                {"region_id": 7, "ready": 0, "error_message": "Failed to pull image"}]}},
        # Phase 2 (receiver hangs): the error changes, dev-b scales to zero.
        {"at": 20, "project_id": 1, "name": "prod-a",
         "set": {"containers": [{"region_id": 7, "error_message": "Back-off pulling image"}]}},
        {"at": 20, "project_id": 1, "name": "dev-b", "set": {"status": "PENDING", "ready": 0, "total": 0}},
        # Phase 3 (connections refused): fixed.
        {"at": 30, "project_id": 1, "name": "prod-a",
         "set": {"status": "ACTIVE", "ready": 1, "containers": [{"region_id": 7, "error_message": None}]}},
    ],
}


def main(t):
    state = iw.tmpdir("state-")
    with iw.Sim(SCENARIO) as sim, iw.Sink(secret="s3cret") as sink:
        wh = h.webhook("hook", sink.hook_url(), secret="s3cret")
        conf = h.config(sim, state, [{"id": 1, "deployments": ["prod-a", "dev-b"]}], [wh])
        sink.behave(status=503)
        d = h.start(conf)

        def logged(kind, n=1):
            return iw.wait_until(lambda: sum(e["type"] == kind for e in h.events(d)) >= n, 20, kind)

        # Phase 1: 503.
        logged("deployment.discovered", 2)
        sim.advance(10)
        logged("alert.firing")
        iw.wait_until(lambda: len(sink.deliveries()) >= 3, 20, "three refused attempts")
        t.eq({x["status"] for x in sink.deliveries()}, {503}, "phase 1: every attempt answered 503")

        # Phase 2: the receiver accepts the request and never answers.
        sink.behave(hang=True)
        hang_start = len(sink.records())
        sim.advance(10)
        logged("container.error", 2)
        iw.wait_until(lambda: len(sink.records()) >= hang_start + 2, 20, "two hung attempts")
        hung = sink.records()[hang_start:]
        t.ok(len(set(h.ids(hung))) == 1 and hung[1]["time_us"] - hung[0]["time_us"] >= 1e6,
             "phase 2: the head event is tried again after the 1 s timeout",
             [(x["headers"]["webhook-id"], x["time_us"]) for x in hung])
        iw.wait_until(lambda: "timed out" in (h.webhook_status(conf, "hook")["last_result"] or "").lower()
                      or "timeout" in (h.webhook_status(conf, "hook")["last_result"] or "").lower(),
                      20, "--status to show the timeout")

        # Phase 3: nobody listens.
        sink.stop()
        sim.advance(10)
        logged("alert.resolved")
        iw.wait_until(lambda: "connect" in (h.webhook_status(conf, "hook")["last_result"] or "").lower(),
                      20, "--status to show the refused connection")
        during = h.webhook_status(conf, "hook")
        t.ok(during["delivered"] == 0 and during["backlog"] >= len(h.events(d)) - 1 and during["retrying"] > 0,
             "--status during the outage: nothing delivered, a backlog, retrying", during)

        # Phase 4: back.
        sink.start_again()
        want = lambda: [e["id"] for e in h.events(d) if h.accepts(wh, e)]  # noqa: E731
        iw.wait_until(lambda: h.collapse(h.ids(sink.deliveries())) == want(), 30, "the backlog to drain")
        expected = want()
        types = [e["type"] for e in h.events(d)]
        t.ok({"container.error", "alert.firing", "alert.resolved", "container.error_cleared",
              "deployment.status_changed"} <= set(types), "the incident produced its events", types)
        after = sink.deliveries()
        t.eq(h.collapse(h.ids(after)), expected,
             "after the outage: every logged event, exactly in the logged order (%d events)" % len(expected))
        t.eq(len(h.ids(after)), len(expected), "each exactly once once the receiver is healthy")
        t.ok(all(x["status"] == 200 and x["signature"] == "valid" for x in after), "all answered 200, all signed")
        t.eq([h.body(x)["type"] for x in after], [e["type"] for e in h.events(d) if h.accepts(wh, e)],
             "the bodies carry the logged types in the logged order")
        every = sink.records()
        t.eq(h.collapse(h.ids(every)), expected, "every attempt ever made, repeats collapsed: the same order")
        t.ok(set(h.ids(every)) == set(expected) and all(x["signature"] == "valid" for x in every),
             "no attempt for an unknown id, every attempt signed")

        final = iw.wait_until(lambda: (lambda s: s if s["backlog"] == 0 and s["delivered"] == len(expected)
                                       else None)(h.webhook_status(conf, "hook")), 10, "--status to catch up")
        t.ok(final["delivered"] == len(expected) and final["dropped"] == 0 and final["backlog"] == 0
             and final["retrying"] == 0 and final["last_result"] == "HTTP 200" and not final["disabled"],
             "--status: delivered %d, dropped 0, backlog 0, last HTTP 200" % len(expected), final)
        t.eq(h.spool_files(state, "hook"), [], "the spool is empty")
        h.stop(t, d)


iw.run(main)
