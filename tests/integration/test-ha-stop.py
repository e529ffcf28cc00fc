"""A leader's stop and reload against etcd (docs/ha.md, "Clean stop" and the fence):

1. SIGTERM of the leader: before it revokes its lease, its last commit (monitor.stopping, and
   whatever was pending) is in etcd's outbox, for the next leader to deliver.
2. A reload that takes longer than the lease (the test build's INFERWATCH_PAUSE=reload:4500, TTL
   3 s): the leader must not emit what the reload produced (monitor.reloaded was never stored in
   etcd); it stops leading (cluster.leader_lost), then leads again from etcd.

A real etcd member on 127.0.0.1 (skipped without etcd)."""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

BINARY = iw.builddir("tests", "crash", "inferwatchd-crashpoints")
SCENARIO = {"deployments": [{"project_id": 1, "name": "p", "status": "ACTIVE", "regions": [1],
                             "containers": [{"region_id": 1, "ready": 1, "total": 1}]}]}


def conf(sim, etcd, prefix):
    text = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["p"]}], [], interval="2s")
    return text + 'cluster = { endpoints = [ "%s" ]; name = "a"; prefix = "%s"; lease_ttl = "3s"; ' \
        'timeout = "1s"; };\n' % (etcd.endpoints()[0], prefix)


def outbox_events(etcd, prefix):
    return [json.loads(line) for v in etcd.values(prefix + "/outbox/").values() for line in v.splitlines() if line]


def clean_stop(t, etcd, sim):
    a = iw.Daemon(conf(sim, etcd, "stop"), ["--log-target=stderr", "--log-format=json"])
    iw.wait_until(lambda: etcdlib.of_type(a, "deployment.discovered"), 30, "a leads and announced p")
    rc = a.stop(20)
    t.eq(rc, 0, "the leader exits 0 on SIGTERM")
    h.check_clean(t, a)
    stopping = etcdlib.of_type(a, "monitor.stopping")
    t.eq(len(stopping), 1, "it logged monitor.stopping once")
    stored = [e for e in outbox_events(etcd, "stop") if e.get("type") == "monitor.stopping"]
    t.eq(len(stored), 1, "its monitor.stopping is in etcd's outbox, for the next leader")
    t.eq([e.get("id") for e in stored], [e["id"] for e in stopping], "the same id as logged")
    t.ok([m for m in h.messages(a) if m and m.startswith("Cluster lease revoked")], "then it revoked its lease")


def long_reload(t, etcd, sim):
    a = iw.Daemon(conf(sim, etcd, "reload"), ["--log-target=stderr", "--log-format=json"], binary=BINARY,
                  env={"INFERWATCH_PAUSE": "reload:4500", "INFERWATCH_CRASHPOINT": "", "INFERWATCH_FAULT": ""})
    iw.wait_until(lambda: etcdlib.of_type(a, "deployment.discovered"), 30, "a leads and announced p")
    a.signal(signal.SIGHUP)
    lost = iw.wait_until(lambda: etcdlib.of_type(a, "cluster.leader_lost"), 30, "a stopped leading")
    t.ok("lease not renewed within its TTL" in lost[0]["message"], "and says why: " + lost[0]["message"])
    iw.wait_until(lambda: len(etcdlib.of_type(a, "cluster.leader_acquired")) >= 2, 30, "a leads again")
    iw.wait_until(lambda: [m for m in h.messages(a) if m and m.startswith("Leading from")][1:], 30,
                  "from the state in etcd")
    t.eq(etcdlib.of_type(a, "monitor.reloaded"), [], "nothing the reload produced was emitted past the lease")
    t.eq(len({e["id"] for e in etcdlib.of_type(a, "deployment.discovered")}), 1,
         "p announced under one id (its batch may be replayed from etcd)")
    h.stop(t, a)


def main(t):
    etcd = etcdlib.cluster_or_skip(t, BINARY)
    try:
        with iw.Sim(SCENARIO) as sim:
            clean_stop(t, etcd, sim)
            long_reload(t, etcd, sim)
    finally:
        etcd.close()


iw.run(main)
