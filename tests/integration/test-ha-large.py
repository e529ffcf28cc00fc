"""High availability with a large fleet: 2,000 deployments discovered in pages of 1,000 make
2.6 MB of events in one commit, more than etcd takes in one request; the leader must still get
them into etcd (in chunks), so that a new leader, after a SIGKILL, starts from them and announces
nothing again. Also: STATUS= of a follower and of the new leader (role, leader), and a reload
that changes the cluster section (a warning, the membership kept). A real etcd member on
127.0.0.1 (skipped without etcd)."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

COUNT = 2000


def main(t):
    if not etcdlib.etcd_binary():
        t.skip_all("etcd is not installed (Debian: etcd-server)")
    etcd = etcdlib.Cluster(1)
    fleets = [{"project_id": 1, "prefix": "dep-", "count": COUNT, "status": "ACTIVE", "regions": [1], "ready": 1}]
    try:
        with iw.Sim({"fleets": fleets}) as sim:
            def conf(member):
                text = h.config(sim, iw.tmpdir("state-" + member + "-"), [{"id": 1, "deployments": "*"}], [],
                                account={"page_size": 1000}, interval="5s")
                return text + 'cluster = { endpoints = [ "%s" ]; name = "%s"; prefix = "big"; lease_ttl = "3s"; };\n' % (
                    etcd.endpoints()[0], member)
            first = h.start(conf("a"))
            iw.wait_until(lambda: [e for e in h.events(first) if e["type"] == "cluster.leader_acquired"], 30, "a leads")
            notify = iw.Notify()
            second = iw.Daemon(conf("b"), ["--log-target=stderr", "--log-format=json"], env=notify.env)
            status = notify.wait_for("STATUS=follower (b); leader ")
            t.ok("STATUS=follower (b); leader unknown" in status.splitlines() or
                 "STATUS=follower (b); leader a" in status.splitlines(), "STATUS= of a follower: its role", status)
            status = notify.wait_for("STATUS=follower (b); leader a")
            t.ok("STATUS=follower (b); leader a" in status.splitlines(), "STATUS= of a follower names the leader",
                 status)
            iw.wait_until(lambda: len([e for e in h.events(first) if e["type"] == "deployment.discovered"]) == COUNT,
                          120, "%d deployments discovered" % COUNT)
            iw.wait_until(lambda: etcd.count("big/state/") >= 2, 60, "the state in etcd")
            iw.wait_until(lambda: etcd.count("big/outbox/") >= 2, 60, "the events in etcd, in chunks")
            t.ok(not [m for m in h.messages(first) if m and "Cannot write the state to etcd" in m],
                 "the leader never failed to write to etcd", [m for m in h.messages(first) if m][-3:])
            first.kill()
            iw.wait_until(lambda: [e for e in h.events(second) if e["type"] == "cluster.leader_acquired"], 30,
                          "b leads")
            loaded = iw.wait_until(lambda: [m for m in h.messages(second) if m and m.startswith("Leading from")], 30,
                                   "b read the state")
            t.ok("%d deployments" % COUNT in loaded[0], "the new leader starts from the state in etcd: " + loaded[0])
            status = notify.wait_for("STATUS=leader")
            t.ok(any(line.startswith("STATUS=leader (b); %d deployments" % COUNT) for line in status.splitlines()),
                 "STATUS= of the new leader: its role, then the counts", status)
            sim.reset_counters()
            iw.wait_until(lambda: sim.counters()["by_endpoint"].get("list", 0) >= 2, 60, "a whole cycle of the new leader")
            t.eq([e for e in h.events(second) if e["type"] == "deployment.discovered" and
                  e["id"] not in {x["id"] for x in h.events(first)}], [],
                 "the new leader announces no deployment again (only the old leader's events, same ids)")
            # A reload cannot move a member to another cluster: it says so and keeps leading.
            with open(second.config_path) as f:
                text = f.read()
            with open(second.config_path, "w") as f:
                f.write(text.replace('prefix = "big"', 'prefix = "other"'))
            second.signal(signal.SIGHUP)
            iw.wait_until(lambda: [m for m in h.messages(second) if m and "takes effect at the next restart" in m], 20,
                          "the reload's warning")
            t.eq([e for e in h.events(second) if e["type"] == "cluster.leader_lost"], [],
                 "a reload that changes the cluster section keeps the membership in force")
            h.stop(t, second)
    finally:
        etcd.close()


iw.run(main)
