"""The outbox in etcd stays bounded while a webhook has a backlog (docs/ha.md): a leader whose
only webhook fails (503) keeps no more in <prefix>/outbox/ than the spool limits allow
(spool_max_size 64K here, while the discovery commits 95K of events: the oldest batches go);
with spool_max_age 2s, a batch older than that goes at the next commit; a webhook disabled by
410 Gone is no backlog: the next commit deletes every earlier batch. Also:
the member's cluster.* events are counted in inferwatch_events_total. A real etcd member on
127.0.0.1 (skipped without etcd)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
import metricslib as ml  # noqa: E402
from hooklib import iw  # noqa: E402

COUNT = 250
LIMIT = 64 * 1024
PREFIX = "bound"


def of_type(d, t):
    return etcdlib.of_type(d, t, include_webhook_events=True)


def outbox(etcd):
    return etcd.keys(PREFIX + "/outbox/")


def age_limit(t, etcd, sim, sink):
    """spool_max_age: a batch whose newest event is older than the limit goes at the next commit,
    while the webhook still fails."""
    sink.behave(status=503)
    conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": "*"}],
                    [h.webhook("hook", sink.hook_url())], interval="2s", spool_max_age="2s")
    d = h.start(conf + etcd.section("b", "aged"))
    iw.wait_until(lambda: len(of_type(d, "deployment.discovered")) == COUNT + 1, 60, "the discovery")
    first = iw.wait_until(lambda: etcd.keys("aged/outbox/"), 30, "the discovery's batches in etcd")
    t0 = time.time()
    iw.wait_until(lambda: time.time() > t0 + 2.5, 10, "the discovery's events older than spool_max_age")
    sim.create(1, "late-2", status="ACTIVE", regions=[1])
    iw.wait_until(lambda: [e for e in of_type(d, "deployment.discovered") if e["deployment"] == "late-2"], 30,
                  "late-2 discovered")
    try:
        iw.wait_until(lambda: not set(first) & set(etcd.keys("aged/outbox/")), 20, "the old batch deleted")
    except TimeoutError:
        pass
    t.eq(sorted(set(first) & set(etcd.keys("aged/outbox/"))), [],
         "a batch older than spool_max_age is deleted from etcd")
    t.ok(etcd.keys("aged/outbox/"), "the newer batch stays (the webhook still fails)")
    h.stop(t, d)


def main(t):
    etcdlib.require(t)
    etcd = etcdlib.Cluster(1)
    fleets = [{"project_id": 1, "prefix": "dep-", "count": COUNT, "status": "ACTIVE", "regions": [1], "ready": 1}]
    try:
        with iw.Sim({"fleets": fleets}) as sim, iw.Sink() as sink:
            sink.behave(status=503)
            conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": "*"}],
                            [h.webhook("hook", sink.hook_url())], interval="2s", spool_max_size="64K")
            conf += etcd.section("a", PREFIX)
            d, port = ml.start(conf)
            iw.wait_until(lambda: of_type(d, "cluster.leader_acquired"), 30, "a leads")

            # The member's own events are counted like every other.
            def counted():
                samples = ml.parse(ml.scrape(port).body.decode())
                return ml.value(samples, "inferwatch_events_total", type="cluster.leader_acquired")
            try:
                n = iw.wait_until(counted, 20, "cluster.leader_acquired counted", interval=0.2)
            except TimeoutError:
                n = counted()
            t.eq(n, 1.0,
                 "/metrics: inferwatch_events_total{type=\"cluster.leader_acquired\"} counts the member's event")

            iw.wait_until(lambda: len(of_type(d, "deployment.discovered")) == COUNT, 60, "the discovery")
            iw.wait_until(lambda: sink.deliveries(), 20, "a first delivery attempt (503)")
            iw.wait_until(lambda: outbox(etcd), 20, "the discovery's events in etcd")
            # A later commit while the webhook still fails: the outbox holds no more than the limit,
            # though more was committed (the oldest batches went).
            sim.create(1, "late-1", status="ACTIVE", regions=[1])
            iw.wait_until(lambda: [e for e in of_type(d, "deployment.discovered") if e["deployment"] == "late-1"],
                          30, "late-1 discovered")
            committed = sum(len(json.dumps(e)) for e in of_type(d, "deployment.discovered"))
            t.ok(committed > LIMIT, "more than the limit was committed: %d bytes of deployment.discovered" % committed)
            try:
                now = iw.wait_until(lambda: (lambda o: o if sum(o.values()) <= LIMIT else None)(outbox(etcd)), 20,
                                    "the outbox in etcd within the limit")
            except TimeoutError:
                now = outbox(etcd)
            t.ok(0 < sum(now.values()) <= LIMIT, "the outbox in etcd is within spool_max_size: %d bytes in %d keys" %
                 (sum(now.values()), len(now)))
            t.ok(all(x["status"] == 503 for x in sink.deliveries()), "while the webhook still fails (a backlog)")

            # 410 Gone: the webhook is disabled, its spool kept, but it is no backlog any more.
            before = outbox(etcd)
            t.ok(before, "batches in etcd before the webhook is disabled", before)
            sink.behave(status=410)
            iw.wait_until(lambda: of_type(d, "webhook.disabled"), 30, "webhook.disabled")
            try:
                iw.wait_until(lambda: not set(before) & set(outbox(etcd)), 20, "earlier batches deleted")
            except TimeoutError:
                pass
            t.eq(sorted(set(before) & set(outbox(etcd))), [],
                 "a disabled webhook is no backlog: the next commit deletes every earlier batch")
            t.eq([m for m in h.messages(d) if m and m.startswith("Cannot write the state to etcd")], [],
                 "etcd took every write (the deletions too)")
            h.stop(t, d)
            age_limit(t, etcd, sim, sink)
    finally:
        etcd.close()


iw.run(main)
