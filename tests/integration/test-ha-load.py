"""A new leader reads an outbox in etcd larger than one answer may be (docs/ha.md): 52 MiB of old
events (more than 64 MiB in the gateway's base64, the most the daemon takes in one answer) and
a fresh batch of two. The leader reads it in pages, leads, counts the old events as dropped by
the spool's age limit (webhook.dropped with their number, inferwatch_webhook_deliveries_total
{result="dropped"}) and delivers the fresh ones with their ids. A real etcd member on 127.0.0.1
(skipped without etcd)."""

import datetime
import json
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
import metricslib as ml  # noqa: E402
from hooklib import iw  # noqa: E402

PREFIX = "paged"
VALUES = 52             # of 1 MiB each
PER_VALUE = 100         # events of ~10 KB in each
STATE_VERSION = 3       # daemon/state.c


def event(name, when, size=0):
    return {"id": str(uuid.uuid4()), "type": "deployment.discovered", "priority": "info",
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "account": "default", "project_id": 1,
            "deployment": name, "message": "deployment %s discovered" % name + " " * size}


def main(t):
    etcdlib.require(t)
    etcd = etcdlib.Cluster(1)
    try:
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
        size = 1024 * 1024 // PER_VALUE - 300
        for i in range(VALUES):
            lines = "".join(json.dumps(event("old-%d-%d" % (i, j), old, size)) + "\n" for j in range(PER_VALUE))
            etcd.put("%s/outbox/%s/000000" % (PREFIX, uuid.uuid4()), lines)
        now = datetime.datetime.now(datetime.timezone.utc)
        fresh = [event("fresh-1", now), event("fresh-2", now)]
        etcd.put("%s/outbox/%s/000000" % (PREFIX, uuid.uuid4()), "".join(json.dumps(e) + "\n" for e in fresh))
        # What a leader writes with (or after) the outboxes it covers: the header and the index of
        # its shards (docs/ha.md); a chunk written after the header would be a cut commit's.
        etcd.put(PREFIX + "/state/header", json.dumps({"version": STATE_VERSION, "written": 0, "pid": 1,
                                                       "accounts": [], "projects": [], "webhooks": []}))
        etcd.put(PREFIX + "/state/index", "")
        stored = sum(etcd.keys(PREFIX + "/outbox/").values())
        t.ok(stored * 4 / 3 > 64 * 1024 * 1024, "the outbox in etcd is over 64 MiB in base64 (%d bytes)" % stored)
        with iw.Sim({}) as sim, iw.Sink() as sink:
            conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": "*"}],
                            [h.webhook("hook", sink.hook_url())], interval="2s", spool_max_age="1d")
            conf += etcd.section("a", PREFIX)
            d, port = ml.start(conf)
            iw.wait_until(lambda: etcdlib.of_type(d, "cluster.leader_acquired"), 30, "a leads")
            try:
                got = iw.wait_until(lambda: (lambda ids: ids if len(ids) >= 2 else None)(
                    [h.body(x)["id"] for x in sink.deliveries() if x["status"] == 200]), 60, "the fresh events")
            except TimeoutError:
                got = []
            t.eq(sorted(got), sorted(e["id"] for e in fresh), "the fresh events are delivered with their ids",
                 "\n".join(m for m in h.messages(d) if m and "etcd" in m))
            loaded = [m for m in h.messages(d) if m and m.startswith("Leading from")]
            t.eq(loaded, ["Leading from the state in etcd: 0 deployments, 2 events not known delivered"],
                 "the leader read the outbox, the old events set apart")
            t.eq([m for m in h.messages(d) if m and "Cannot read the state from etcd" in m], [],
                 "no read of etcd failed")
            dropped = iw.wait_until(lambda: etcdlib.of_type(d, "webhook.dropped", True), 20, "webhook.dropped")
            t.eq([(e["data"]["webhook"], e["data"]["count"]) for e in dropped], [("hook", VALUES * PER_VALUE)],
                 "the old events are counted as dropped by the spool's limits, once", json.dumps(dropped))
            samples = ml.parse(ml.scrape(port).body.decode())
            t.eq(ml.value(samples, "inferwatch_webhook_deliveries_total", webhook="hook", result="dropped"),
                 VALUES * PER_VALUE, "/metrics: the webhook's dropped events")
            h.stop(t, d)
    finally:
        etcd.close()


iw.run(main)
