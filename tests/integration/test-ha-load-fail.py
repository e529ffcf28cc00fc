"""A leader that cannot read the state from etcd (the test build's fault hook,
INFERWATCH_FAULT=load:1-: every page of every read fails) tries three times, a second apart, then
lets another member lead (cluster.leader_lost says why) instead of holding the leadership
without polling; the other member reads the state and delivers. A real etcd member on
127.0.0.1 (skipped without etcd)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

BINARY = iw.builddir("tests", "crash", "inferwatchd-crashpoints")


def main(t):
    etcdlib.require(t)
    if not os.access(BINARY, os.X_OK):
        t.skip_all("%s is not built" % BINARY)
    etcd = etcdlib.Cluster(1)
    scenario = {"deployments": [{"project_id": 1, "name": "p", "status": "ACTIVE", "regions": [1]}]}
    try:
        with iw.Sim(scenario) as sim, iw.Sink() as sink:
            def conf(member):
                text = h.config(sim, iw.tmpdir("state-" + member + "-"), [{"id": 1, "deployments": "*"}],
                                [h.webhook("hook", sink.hook_url(), headers=["X-Member: " + member])], interval="2s")
                return text + etcd.section(member, "lf")
            a = iw.Daemon(conf("a"), ["--log-target=stderr", "--log-format=json"], binary=BINARY,
                          env={"INFERWATCH_FAULT": "load:1-", "INFERWATCH_CRASHPOINT": ""})
            iw.wait_until(lambda: etcdlib.of_type(a, "cluster.leader_acquired"), 30, "a leads")
            b = h.start(conf("b"))
            try:
                lost = iw.wait_until(lambda: etcdlib.of_type(a, "cluster.leader_lost"), 30, "a gives up")
            except TimeoutError:
                lost = []
            t.eq([e["message"] for e in lost],
                 ["a stopped leading: cannot read the state from etcd (3 tries: fault injected); "
                  "another member may try"],
                 "after three failed reads, a abdicates and says why")
            warnings = [m for m in h.messages(a) if m and m.startswith("Cannot read the state from etcd")]
            t.eq(len(warnings), 2, "the first two failures were retried", "\n".join(warnings))
            t.eq(etcdlib.of_type(a, "deployment.discovered"), [], "a never polled")
            iw.wait_until(lambda: etcdlib.of_type(b, "cluster.leader_acquired"), 30, "b leads")
            got = iw.wait_until(lambda: [x for x in sink.deliveries() if h.body(x)["type"] == "deployment.discovered"],
                                30, "b delivers")
            t.eq([x["headers"].get("x-member") for x in got], ["b"], "b reads the state, polls and delivers")
            h.stop(t, b, "b")
            h.stop(t, a, "a")
    finally:
        etcd.close()


iw.run(main)
