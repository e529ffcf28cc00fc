"""A member elected leader that cannot start polling (here its webhook spool directory cannot be
created: a file is in the way) gives the lead up and keeps running as a member, instead of
committing without a poller; a healthy member then leads and reports."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

TTL = 2


def cluster_config(sim, sink, etcd, member):
    state = iw.tmpdir("state-" + member + "-")
    wh = h.webhook("hook", sink.hook_url(), headers=["X-Member: " + member])
    text = h.config(sim, state, [{"id": 1, "deployments": "*"}], [wh], interval="2s")
    return state, text + "cluster = { endpoints = [ %s ]; name = \"%s\"; prefix = \"iwtest\"; lease_ttl = \"%ds\"; " \
        "timeout = \"1s\"; };\n" % (", ".join('"%s"' % e for e in etcd.endpoints()), member, TTL)


def of_type(daemon, t):
    return [e for e in h.events(daemon) if e["type"] == t]


def main(t):
    if not etcdlib.etcd_binary():
        t.skip_all("etcd is not installed (Debian: etcd-server)")
    etcd = etcdlib.Cluster(1)
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a"}]}
    try:
        with iw.Sim(scenario) as sim, iw.Sink() as sink:
            state_a, conf_a = cluster_config(sim, sink, etcd, "a")
            _, conf_b = cluster_config(sim, sink, etcd, "b")
            with open(os.path.join(state_a, "spool"), "w") as f:
                f.write("in the way\n")
            a = h.start(conf_a)
            iw.wait_until(lambda: of_type(a, "cluster.leader_lost"), 30, "a gives up the lead", interval=0.1)
            why = of_type(a, "cluster.leader_lost")[0]["message"]
            t.ok("cannot start polling" in why, "a stopped leading because it cannot poll: %s" % why)
            t.eq(a.returncode, None, "a is still running")
            t.eq([d for d in sink.deliveries() if d["headers"].get("x-member") == "a"], [], "a delivered nothing")

            b = h.start(conf_b)
            iw.wait_until(lambda: any(h.body(d)["type"] == "deployment.discovered" for d in sink.deliveries()),
                          10 * TTL + 30, "a leader delivers prod-a's discovery", interval=0.1)
            t.ok(of_type(b, "cluster.leader_acquired"), "b leads")
            h.stop(t, a, "member a")
            h.stop(t, b, "member b")
    finally:
        etcd.close()


iw.run(main)
