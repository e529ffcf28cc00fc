"""The cluster section's TLS settings against a real etcd that serves clients over HTTPS only and
requires a client certificate (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth;
a CA, server and client certificates made now with the openssl command): a member with the right
CA and its client certificate leads, keeps its state in etcd and delivers; a member that trusts
another CA logs cluster.etcd_unreachable (saying why), never leads, and stops cleanly. A real
etcd member on 127.0.0.1 (skipped without etcd or openssl)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

PREFIX = "tls"


def main(t):
    etcdlib.require(t)
    try:
        tls = iw.make_test_ca()
        other_ca = iw.make_test_ca()[0]
    except RuntimeError as e:
        t.skip_all(str(e))
    etcd = etcdlib.Cluster(1, tls=tls)
    scenario = {"deployments": [{"project_id": 1, "name": "p", "status": "ACTIVE", "regions": [1]}]}
    try:
        with iw.Sim(scenario) as sim, iw.Sink() as sink:
            def conf(member, ca):
                text = h.config(sim, iw.tmpdir("state-" + member + "-"), [{"id": 1, "deployments": "*"}],
                                [h.webhook("hook", sink.hook_url(), headers=["X-Member: " + member])], interval="2s")
                return text + etcd.section(member, PREFIX, ca_file=ca, cert_file=etcd.client_cert,
                                           key_file=etcd.client_key)
            t.ok(etcd.endpoints()[0].startswith("https://"), "etcd serves clients over HTTPS: " + etcd.endpoints()[0])
            a = h.start(conf("a", tls[0]))
            try:
                iw.wait_until(lambda: etcdlib.of_type(a, "cluster.leader_acquired"), 30, "a leads")
            except TimeoutError:
                pass
            t.eq(len(etcdlib.of_type(a, "cluster.leader_acquired")), 1,
                 "a member with the right CA and certificate leads",
                 "\n".join(m for m in h.messages(a) if m)[-2000:])
            try:
                got = iw.wait_until(lambda: [x for x in sink.deliveries()
                                             if h.body(x)["type"] == "deployment.discovered"], 30, "a delivers")
            except TimeoutError:
                got = []
            t.eq([(x["headers"].get("x-member"), h.body(x)["deployment"]) for x in got], [("a", "p")],
                 "it polls and delivers")
            iw.wait_until(lambda: etcd.count(PREFIX + "/state/") > 0 and etcd.count(PREFIX + "/outbox/") > 0, 20,
                          "its state and outbox in etcd")
            t.eq(etcdlib.of_type(a, "cluster.etcd_unreachable"), [], "it never found etcd unreachable")

            b = h.start(conf("b", other_ca))
            unreachable = iw.wait_until(lambda: etcdlib.of_type(b, "cluster.etcd_unreachable"), 30,
                                        "b cannot reach etcd")
            msg = unreachable[0]["message"]
            t.ok(msg.startswith("etcd unreachable (lease grant: %s: " % etcd.endpoints()[0]) and
                 "certificate" in msg.lower(), "cluster.etcd_unreachable says it is the certificate: " + msg)
            t.eq(len(unreachable), 1, "once per outage")
            t.eq(etcdlib.of_type(b, "cluster.leader_acquired"), [], "b never leads")
            t.eq(etcdlib.of_type(a, "cluster.leader_lost"), [], "a keeps leading")
            h.stop(t, b, "b")
            h.stop(t, a, "a")
            t.ok([m for m in h.messages(a) if m and m.startswith("Cluster lease revoked")],
                 "at exit a revokes its lease through TLS too (the blocking request)")
    finally:
        etcd.close()


iw.run(main)
