"""SIGKILL with a backlog: the receiver fails while events pile up in the spool, the daemon is
killed, a crashed append leaves a temporary file behind; the daemon is started again on the same
state directory with the receiver healthy. Every event spooled before the kill is delivered,
first and in order, then what the new daemon reports; nothing from the torn file."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402


def main(t):
    state = iw.tmpdir("state-")
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a", "status": "DEPLOYING", "regions": [1, 7]},
                                {"project_id": 1, "name": "prod-b"}]}
    with iw.Sim(scenario) as sim, iw.Sink(secret="k") as sink:
        wh = h.webhook("hook", sink.hook_url(), secret="k")
        conf = h.config(sim, state, [{"id": 1, "deployments": ["prod-a", "prod-b"]}], [wh])
        sink.behave(status=500)
        first = h.start(conf)
        iw.wait_until(lambda: len(h.events(first)) >= 3, 15, "the first events")
        sim.set(1, "prod-a", status="PARTIALLYDEPLOYED",
                containers=[{"region_id": 1, "ready": 1}, {"region_id": 7, "error_message": "Failed to pull image"}])
        iw.wait_until(lambda: any(e["type"] == "alert.firing" for e in h.events(first)), 15, "alert.firing")
        iw.wait_until(lambda: len(sink.deliveries()) >= 2, 15, "failed attempts")

        before = [e["id"] for e in h.events(first)]
        spooled = h.spool_ids(state, "hook")
        t.eq(spooled, before, "before the kill: every logged event is in the spool, in order (%d)" % len(before))
        first.signal(signal.SIGKILL)
        first.proc.wait(10)
        t.eq(first.returncode, -signal.SIGKILL, "the daemon was killed")
        h.check_clean(t, first, "the killed daemon")
        t.eq(h.spool_ids(state, "hook"), spooled, "after the kill the spool files are all there")
        # What a crash in the middle of an append leaves: a temporary file never renamed.
        spool_dir = os.path.join(state, "spool", "hook")
        torn = os.path.join(spool_dir, "%016d.json.tmp" % 99999)
        with open(torn, "w") as f:
            f.write('{"id":"00000000-0000-0000-0000-000000000000","type":"alert.fir')

        sink.normal()
        second = h.start(conf)
        want = lambda: before + [e["id"] for e in h.events(second)]  # noqa: E731
        iw.wait_until(lambda: h.collapse(h.ids(sink.deliveries())) == want(), 30, "the backlog to drain")
        got = h.collapse([x for x in h.ids(sink.deliveries())])
        t.eq(got[:len(before)], before, "after the restart: every event spooled before the kill comes first, in order")
        t.eq(got[len(before):], [e["id"] for e in h.events(second)], "then the new daemon's events")
        t.ok(not os.path.exists(torn), "the torn temporary file was removed")
        t.ok("00000000-0000-0000-0000-000000000000" not in h.ids(sink.records()), "and never delivered")
        ok = [x for x in sink.deliveries() if x["status"] == 200]
        t.ok(set(before) <= set(h.ids(ok)) and all(x["signature"] == "valid" for x in ok),
             "each spooled id was accepted (200) with a valid signature")
        t.ok(any("undelivered event" in m for m in h.messages(second)),
             "the restarted daemon says it found undelivered events", h.messages(second))
        types = [e["type"] for e in h.events(second)]
        t.ok(types[:1] == ["monitor.started"] and "deployment.discovered" not in types,
             "the restart re-announces nothing already announced", types)
        s = iw.wait_until(lambda: (lambda s: s if s["backlog"] == 0 else None)(h.webhook_status(conf, "hook")), 10,
                          "--status backlog 0")
        t.ok(s["delivered"] >= len(want()) and s["last_result"] == "HTTP 200", "--status: all delivered", s)
        h.stop(t, second)


iw.run(main)
