"""A leader whose writes to etcd fail (the test build's fault hook, INFERWATCH_FAULT=store:1-3:
its first three commits cannot start) retries them a second apart, and the events it retries
are completed by the context once: a region in maintenance is named once in the message.
Real etcd (one member)."""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

BINARY = iw.builddir("tests", "crash", "inferwatchd-crashpoints")
FAILURES = 3
SUFFIX = "(region Luxembourg-2 (7) is in MAINTENANCE)"


def failed_writes(d):
    """The times (seconds) of the warnings about a write to etcd that failed."""
    out = []
    for o in h.log_lines(d):
        if "type" not in o and (o.get("message") or "").startswith("Cannot write the state to etcd"):
            out.append(datetime.datetime.strptime(o["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp())
    return out


def main(t):
    etcd = etcdlib.cluster_or_skip(t, BINARY)
    scenario = {"regions": [{"id": 7, "display_name": "Luxembourg-2", "state": "MAINTENANCE"}],
                "deployments": [{"project_id": 1, "name": "p", "status": "PARTIALLYDEPLOYED", "regions": [7],
                                 "containers": [{"region_id": 7, "ready": 0, "total": 1, "error_message": "boom"}]}]}
    try:
        with iw.Sim(scenario) as sim, iw.Sink() as sink:
            state = iw.tmpdir("state-")
            conf = h.config(sim, state, [{"id": 1, "deployments": ["p"]}], [h.webhook("hook", sink.hook_url())],
                            interval="2s")
            conf += "cluster = { endpoints = [ %s ]; name = \"a\"; prefix = \"iwtest\"; lease_ttl = \"3s\"; " \
                "timeout = \"1s\"; };\n" % ", ".join('"%s"' % e for e in etcd.endpoints())
            d = iw.Daemon(conf, ["--log-target=stderr", "--log-format=json"], binary=BINARY,
                          env={"INFERWATCH_FAULT": "store:1-%d" % FAILURES, "INFERWATCH_CRASHPOINT": ""})
            errors = iw.wait_until(lambda: [e for e in h.events(d) if e["type"] == "container.error"], 30,
                                   "container.error, once etcd took it", interval=0.1)
            times = failed_writes(d)
            t.eq(len(times), FAILURES, "%d writes failed before" % FAILURES)
            gaps = [b - a for a, b in zip(times, times[1:])]
            t.ok(all(g >= 0.9 for g in gaps), "the retries came a second apart", gaps)
            msg = errors[0]["message"]
            t.eq(msg.count(SUFFIX), 1, "the region in maintenance is named once in the message", msg)
            t.eq(msg.count("region Luxembourg-2 (7):"), 1, "and the region named once at its place", msg)
            iw.wait_until(lambda: [x for x in sink.deliveries() if h.body(x)["type"] == "container.error"], 20,
                          "container.error delivered")
            body = next(h.body(x) for x in sink.deliveries() if h.body(x)["type"] == "container.error")
            t.eq(body["message"], msg, "the delivered message is the one logged")
            h.stop(t, d)
    finally:
        etcd.close()


iw.run(main)
