"""What a leader writes to etcd is all or nothing, as a reader sees it (docs/ha.md, "Size").

1. A commit split over several transactions (the discovery of 2,000 deployments: 2.6 MB of
   events and their state) is cut after its first one by the test build's crash hook
   (INFERWATCH_CRASHPOINT=store-txn:1, SIGKILL). The next leader must neither replay the events of
   the cut commit nor miss their changes: every deployment is announced once, under one id, and
   the chunks the cut commit left in etcd are deleted.
2. etcd applies a commit but its answer is lost (INFERWATCH_FAULT=store-answer:N-: every answer
   from the Nth on); the leader retries, then is killed. Whatever the later writes deleted, the
   event of the change is still delivered once by someone: the old leader fed it, or the new
   leader replays it from etcd (the same id), never zero times, never under two ids.

A real etcd member on 127.0.0.1 (skipped without etcd)."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

BINARY = iw.builddir("tests", "crash", "inferwatchd-crashpoints")
COUNT = 2000


def member(conf, name, env):
    env = dict({"INFERWATCH_CRASHPOINT": "", "INFERWATCH_FAULT": ""}, **env)
    return iw.Daemon(conf(name), ["--log-target=stderr", "--log-format=json"], binary=BINARY, env=env)


def cluster_conf(sim, etcd, prefix, projects, **keys):
    def conf(name):
        text = h.config(sim, iw.tmpdir("state-" + name + "-"), projects, [], **keys)
        return text + 'cluster = { endpoints = [ "%s" ]; name = "%s"; prefix = "%s"; lease_ttl = "3s"; ' \
            'timeout = "1s"; };\n' % (etcd.endpoints()[0], name, prefix)
    return conf


def loaded(d):
    return iw.wait_until(lambda: [m for m in h.messages(d) if m and m.startswith("Leading from")], 30,
                         "the new leader read the state")[0]


def discovered(d):
    return [e for e in h.events(d) if e["type"] == "deployment.discovered"]


def cut_commit(t, etcd):
    fleets = [{"project_id": 1, "prefix": "dep-", "count": COUNT, "status": "ACTIVE", "regions": [1], "ready": 1}]
    with iw.Sim({"fleets": fleets}) as sim:
        conf = cluster_conf(sim, etcd, "cut", [{"id": 1, "deployments": "*"}], account={"page_size": 1000},
                            interval="5s")
        a = member(conf, "a", {"INFERWATCH_CRASHPOINT": "store-txn:1"})
        iw.wait_until(lambda: a.returncode == -signal.SIGKILL, 90, "a killed between two transactions of a commit")
        left = set(etcd.values("cut/outbox/"))
        t.ok(left, "the cut commit left chunks of its events in etcd", sorted(left))
        fed = discovered(a)  # by the commits before the cut one
        b = member(conf, "b", {})
        msg = loaded(b)
        t.ok(("%d deployments," % len(fed)) in msg,
             "the new leader reads the state of the last whole commit (%d deployments announced by a), not the "
             "cut one's: %s" % (len(fed), msg))
        iw.wait_until(lambda: len({e["deployment"] for e in fed + discovered(b)}) >= COUNT, 120,
                      "%d deployments discovered by a or b" % COUNT)
        sim.reset_counters()
        iw.wait_until(lambda: sim.counters()["by_endpoint"].get("list", 0) >= 2, 60, "a whole cycle more")
        ids = {}
        for e in fed + discovered(b):
            ids.setdefault(e["deployment"], set()).add(e["id"])
        t.eq((len(ids), [n for n, i in ids.items() if len(i) > 1][:5]), (COUNT, []),
             "each deployment announced, under one id (a: %d, b: %d, replayed included)" % (len(fed), len(discovered(b))))
        iw.wait_until(lambda: not left & set(etcd.values("cut/outbox/")), 30, "the cut commit's chunks deleted")
        h.stop(t, b, "b")


def lost_answer(t, etcd, first_lost):
    prefix = "lost%d" % first_lost
    scenario = {"deployments": [{"project_id": 1, "name": "p", "status": "ACTIVE", "regions": [1],
                                 "containers": [{"region_id": 1, "ready": 1, "total": 1}]}]}
    with iw.Sim(scenario) as sim:
        conf = cluster_conf(sim, etcd, prefix, [{"id": 1, "deployments": ["p"]}], interval="2s")
        a = member(conf, "a", {"INFERWATCH_FAULT": "store-answer:%d-" % first_lost})
        def failed():
            return len([m for m in h.messages(a) if m and m.startswith("Cannot write the state to etcd")])
        # Either the commit of p failed (and is retried: three failures), or it got through before
        # the faults began (nothing more to commit then).
        iw.wait_until(lambda: failed() >= 3 or (discovered(a) and not failed()), 30, "a's writes seen failing")
        a.kill()
        b = member(conf, "b", {})
        loaded(b)
        sim.reset_counters()
        iw.wait_until(lambda: sim.counters()["by_endpoint"].get("get", 0) + sim.counters()["by_endpoint"].get(
            "list", 0) >= 2, 30, "b polled")
        iw.wait_until(lambda: discovered(a) + discovered(b), 20, "p announced by a or b")
        ids = {e["id"] for e in discovered(a) + discovered(b)}
        t.eq(len(ids), 1, "answers lost from the number %d on: p announced, under one id (a fed %d, b %d)" %
             (first_lost, len(discovered(a)), len(discovered(b))))
        h.stop(t, b, "b")


def main(t):
    etcd = etcdlib.cluster_or_skip(t, BINARY)
    try:
        cut_commit(t, etcd)
        for first_lost in (2, 4):
            lost_answer(t, etcd, first_lost)
    finally:
        etcd.close()


iw.run(main)
