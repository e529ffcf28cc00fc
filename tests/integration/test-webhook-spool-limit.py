"""The spool is bounded: while the receiver fails, a burst larger than spool_max_size drops the
oldest events, says so (webhook.dropped with the count), and once the receiver is back the
newest events are delivered, in order, nothing else. The limit also holds while a slow but
working receiver always has a delivery in flight."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

N = 400
LIMIT = 64 * 1024


def main(t):
    scenario = {"fleets": [{"project_id": 3, "prefix": "fleet-", "count": N, "digits": 3, "regions": [1]}]}
    state = iw.tmpdir("state-")
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        wh = h.webhook("hook", sink.hook_url(), events=["deployment.discovered"])
        conf = h.config(sim, state, [{"id": 3, "deployments": "*"}], [wh], spool_max_size="64KiB",
                        account={"page_size": 50})
        sink.behave(status=503)
        d = h.start(conf)
        iw.wait_until(lambda: len(h.events(d)) > N, 20, "the discoveries")
        drops = [e for e in h.events(d, True) if e["type"] == "webhook.dropped"]
        dropped = sum(e["data"]["count"] for e in drops)
        logged = [e["id"] for e in h.events(d) if h.accepts(wh, e)]
        t.eq(len(logged), N, "%d events for the webhook" % N)
        t.ok(drops and all(e["data"]["reason"] == "spool over its size or age limit" and e["priority"] == "warning"
                           and e["data"]["webhook"] == "hook" for e in drops) and 0 < dropped < N,
             "webhook.dropped says the spool overflowed, %d events in %d messages" % (dropped, len(drops)),
             drops[:3])
        sizes = [os.path.getsize(p) for p in h.spool_files(state, "hook")]
        t.ok(sum(sizes) <= LIMIT and len(sizes) == N - dropped,
             "the spool holds %d events, %d bytes, within 64 KiB" % (len(sizes), sum(sizes)))
        t.eq(h.spool_ids(state, "hook"), logged[dropped:], "the oldest went, the newest stay, in order")

        sink.normal()
        ok = iw.wait_until(lambda: (lambda g: g if len(g) >= 10 else None)(
            [x for x in sink.deliveries() if x["status"] == 200]), 30, "deliveries again")
        t.eq(h.ids(ok)[:10], logged[dropped:dropped + 10], "then delivery resumes with the oldest event kept")
        order = [logged.index(i) for i in h.collapse(h.ids(sink.deliveries()))]
        t.ok(order == sorted(order), "every attempt, failed ones included, in the logged order", order[:20])
        # Delivery figures reach state.json with the lazy save (about a second).
        s = iw.wait_until(lambda: (lambda s: s if s["dropped"] >= dropped else None)(h.webhook_status(conf, "hook")),
                          10, "--status to count the drops")
        t.ok(s["dropped"] == dropped, "--status: dropped %d" % dropped, s)

        # A slow receiver that does answer 200: a delivery is always in flight, and the limit
        # holds all the same.
        sink.behave(delay=0.3)
        iw.wait_until(lambda: not h.spool_files(state, "hook"), 60, "the backlog delivered")
        before = len(sink.deliveries())
        for i in range(N):
            sim.create(3, "late-%03d" % i, regions=[1])
        iw.wait_until(lambda: sum(e["type"] == "deployment.discovered" for e in h.events(d)) == 2 * N, 30,
                      "the late discoveries")
        drops = [e for e in h.events(d, True) if e["type"] == "webhook.dropped"]
        later = sum(e["data"]["count"] for e in drops) - dropped
        sizes = [os.path.getsize(p) for p in h.spool_files(state, "hook")]
        t.ok(later > 0 and sum(sizes) <= LIMIT,
             "slow receiver: %d more dropped, the spool holds %d bytes, within 64 KiB" % (later, sum(sizes)))
        sink.normal()
        iw.wait_until(lambda: not h.spool_files(state, "hook"), 60, "the spool drained")
        logged = [e["id"] for e in h.events(d) if h.accepts(wh, e)]
        got = h.ids([x for x in sink.deliveries(before) if x["status"] == 200])
        t.ok(len(got) == len(set(got)) and [logged.index(i) for i in got] == sorted(logged.index(i) for i in got),
             "each delivered once, in order (%d of %d)" % (len(got), N))
        t.eq(got[-1], logged[-1], "the newest was delivered")
        h.stop(t, d)


iw.run(main)
