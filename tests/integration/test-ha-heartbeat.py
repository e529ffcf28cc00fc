"""The heartbeat in a cluster (docs/ha.md): only the leader pings, since the switch proves that
the fleet is watched, and a follower watches nothing. Each member here pings its own path on the
sink, so that the test tells them apart (in production they share one URL): the leader pings
every interval, the follower never does; after a SIGKILL of the leader, the new leader pings
once it has polled. A real etcd member on 127.0.0.1 (skipped without etcd)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

INTERVAL = 2


def main(t):
    etcdlib.require(t)
    etcd = etcdlib.Cluster(1)
    scenario = {"deployments": [{"project_id": 1, "name": "p", "status": "ACTIVE", "regions": [1]}]}
    try:
        with iw.Sim(scenario) as sim, iw.Sink() as sink:
            def conf(member):
                text = h.config(sim, iw.tmpdir("state-" + member + "-"), [{"id": 1, "deployments": "*"}], [],
                                interval="%ds" % INTERVAL)
                text += 'heartbeat = { url = "%s"; timeout = "1s"; };\n' % (sink.url + "/hb/" + member)
                return text + etcd.section(member, "hb")

            def pings(member, since=0):
                return [x for x in sink.deliveries(since) if x["path"] == "/hb/" + member]

            a = h.start(conf("a"))
            iw.wait_until(lambda: etcdlib.of_type(a, "cluster.leader_acquired"), 30, "a leads")
            b = h.start(conf("b"))
            iw.wait_until(lambda: etcdlib.of_type(b, "monitor.started"), 20, "b started")
            n = len(sink.deliveries())
            iw.wait_until(lambda: len(pings("a", n)) >= 3, 10 * INTERVAL, "three pings of the leader")
            t.eq(pings("b"), [], "the follower pings nothing while the leader pings every interval")
            t.eq(etcdlib.of_type(b, "cluster.leader_acquired"), [], "(b followed all along)")

            a.kill()
            iw.wait_until(lambda: etcdlib.of_type(b, "cluster.leader_acquired"), 30, "b leads")
            m = len(sink.deliveries())
            got = iw.wait_until(lambda: pings("b", m), 10 * INTERVAL, "a ping of the new leader")
            t.eq(got[0]["method"], "GET", "the new leader pings once it has polled")
            t.eq(pings("a", m), [], "the dead one does not")
            h.stop(t, b, "b")
    finally:
        etcd.close()


iw.run(main)
