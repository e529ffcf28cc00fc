"""High availability on a real 3-member etcd cluster: three inferwatchd, one leader polls and
emits; SIGKILL of the leader with an open incident and undelivered events → a follower leads
within TTL + one poll (the gap is printed), delivers what the old one had accepted with the same
ids, announces nothing again and fires no alert twice (the state and outbox live in etcd);
SIGSTOP of the leader past its TTL, then SIGCONT → it delivers nothing after it wakes (fenced).
Each member's webhook carries an X-Member header, so the sink tells who sent what."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcdlib  # noqa: E402
import hooklib as h  # noqa: E402
import metricslib as ml  # noqa: E402
from hooklib import iw  # noqa: E402

TTL = 3
INTERVAL = 2


def cluster_config(sim, sink, etcd, member):
    state = iw.tmpdir("state-" + member + "-")
    wh = h.webhook("hook", sink.hook_url(), headers=["X-Member: " + member])
    # prod-a goes back and forth on purpose: flap control (which would log its later changes at
    # debug, for no webhook) is kept out of the way, as in test-crash-consistency.py.
    text = h.config(sim, state, [{"id": 1, "deployments": "*"}], [wh], interval="%ds" % INTERVAL,
                    flap_returns=30, flap_window=3)
    return text + "cluster = { endpoints = [ %s ]; name = \"%s\"; prefix = \"iwtest\"; lease_ttl = \"%ds\"; " \
        "timeout = \"1s\"; };\n" % (", ".join('"%s"' % e for e in etcd.endpoints()), member, TTL)


def of_type(daemon, t):
    return [e for e in h.events(daemon) if e["type"] == t]


def leaders(members):
    """The members whose last role event says they lead."""
    out = []
    for name, d in members.items():
        roles = [e for e in h.events(d) if e["type"] in ("cluster.leader_acquired", "cluster.leader_lost")]
        if roles and roles[-1]["type"] == "cluster.leader_acquired":
            out.append(name)
    return out


def delivered(sink):
    return [h.body(d) for d in sink.deliveries() if d["status"] == 200]


def delivered_types(sink):
    return [e["type"] for e in delivered(sink)]


def ok_deliveries(sink):
    return [d for d in sink.deliveries() if d["status"] == 200]


def from_member(sink, name, since=0):
    return [d for d in sink.deliveries(since) if d["headers"].get("x-member") == name]


def main(t):
    if not etcdlib.etcd_binary():
        t.skip_all("etcd is not installed (Debian: etcd-server)")
    etcd = etcdlib.Cluster(3)
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a"},
                                {"project_id": 1, "name": "prod-b", "regions": [1, 7]}]}
    try:
        with iw.Sim(scenario) as sim, iw.Sink() as sink:
            confs = {m: cluster_config(sim, sink, etcd, m) for m in ("a", "b", "c")}
            started = {m: ml.start(confs[m]) for m in confs}
            members = {m: started[m][0] for m in started}
            ports = {m: started[m][1] for m in started}
            first = iw.wait_until(lambda: (lambda l: l[0] if len(l) == 1 else None)(leaders(members)), 30,
                                  "one leader")
            iw.wait_until(lambda: len(sink.deliveries()) >= 2, 20, "the leader's first deliveries")
            others = [m for m in members if m != first]
            t.eq(leaders(members), [first], "exactly one member leads")
            t.ok(all(not of_type(members[m], "deployment.discovered") for m in others),
                 "followers emit nothing (no deployment.discovered in their logs)")
            senders = {d["headers"].get("x-member") for d in sink.deliveries()}
            t.eq(senders, {first}, "every delivery comes from the leader")
            st = iw.wait_until(lambda: (lambda c: c if c and c.get("leader") == first else None)(
                h.status(confs[others[0]])["cluster"]), 10, "a follower's --status names the leader")
            t.eq((st["member"], st["role"], st["leader"]), (others[0], "follower", first),
                 "--status of a follower: its name, its role, the leader")
            t.eq(h.status(confs[first])["cluster"]["role"], "leader", "--status of the leader: leader")
            # /metrics: the role of each member; one that stands by polls nothing, so has no deployment.
            scraped = {m: ml.parse(ml.scrape(ports[m]).body.decode()) for m in members}
            t.eq({m: ml.value(scraped[m], "inferwatch_cluster_leader", member=m) for m in members},
                 {m: 1.0 if m == first else 0.0 for m in members},
                 "/metrics: inferwatch_cluster_leader 1 on the leader only")
            t.ok(any(k[0] == "inferwatch_deployment_health" for k in scraped[first]),
                 "/metrics of the leader: its deployments")
            t.ok(not any(k[0] == "inferwatch_deployment_health" for m in others for k in scraped[m]),
                 "/metrics of a follower: no deployment")

            # One etcd member killed (the first endpoint, which every member uses first): nothing
            # changes; requests fail over to the next endpoint.
            etcd.move_raft_leader_off(etcd.names[0])
            etcd.kill(etcd.names[0])
            sim.set(1, "prod-a", status="DEPLOYING")
            iw.wait_until(lambda: [d for d in delivered(sink) if d.get("deployment") == "prod-a" and
                                   d["type"] == "deployment.status_changed"], 20, "a change delivered, one etcd down")
            sim.set(1, "prod-a", status="ACTIVE")
            iw.wait_until(lambda: [d for d in delivered(sink) if d.get("deployment") == "prod-a" and
                                   "→ ACTIVE" in d["message"]], 20, "another change delivered, one etcd down")
            t.eq(leaders(members), [first], "one etcd member down: the same member leads")
            t.eq([e for m in members for e in of_type(members[m], "cluster.leader_lost")], [],
                 "one etcd member down: no member lost or changed its role")
            etcd.start(etcd.names[0])
            iw.wait_until(lambda: etcd.healthy(etcd.names[0]), 30, "the etcd member back")

            # An open incident, then events the receiver has not taken yet when the leader dies.
            sim.set(1, "prod-b", status="PARTIALLYDEPLOYED",
                    containers=[{"region_id": 1, "ready": 1}, {"region_id": 7, "error_message": "Failed to pull image"}])
            iw.wait_until(lambda: delivered_types(sink).count("alert.firing") >= 1, 20, "alert.firing delivered")
            sink.behave(status=500)
            to_deploying = lambda d: [e for e in h.events(d) if e.get("deployment") == "prod-a" and  # noqa: E731
                                      e["type"] == "deployment.status_changed" and "→ DEPLOYING" in e["message"]]
            n = len(to_deploying(members[first]))
            sim.set(1, "prod-a", status="DEPLOYING")
            iw.wait_until(lambda: len(to_deploying(members[first])) > n, 20, "the leader accepts prod-a's change")
            accepted = [e["id"] for e in h.events(members[first]) if not e["type"].startswith(("monitor.", "cluster."))]

            # SIGKILL of the leader: a follower leads within TTL + one poll.
            killed_at = time.monotonic()
            members[first].kill()
            sink.normal()
            rest = {m: members[m] for m in others}
            second = iw.wait_until(lambda: (lambda l: l[0] if len(l) == 1 else None)(leaders(rest)),
                                   3 * (TTL + INTERVAL) + 10, "a new leader")
            gap = time.monotonic() - killed_at
            print("# failover: %s leads %.2f s after the SIGKILL of %s (TTL %d s, interval %d s)" %
                  (second, gap, first, TTL, INTERVAL))
            # On a loaded 2-core machine the election itself takes a moment beyond the TTL.
            t.ok(gap <= TTL + INTERVAL + 3, "a follower leads within TTL + one poll (%.2f s)" % gap)
            try:
                iw.wait_until(lambda: set(accepted) <= set(h.ids(sink.deliveries())), 30,
                              "every event the old leader accepted is delivered")
            except TimeoutError:
                missing = set(accepted) - set(h.ids(sink.deliveries()))
                print("# not delivered: %s" % [(e["type"], e.get("deployment"), e.get("priority"))
                                               for e in h.events(members[first]) if e["id"] in missing])
            t.ok(set(accepted) <= set(h.ids(ok_deliveries(sink))),
                 "every event the killed leader accepted was delivered (200), with its id (%d)" % len(accepted))
            sim.set(1, "prod-a", status="ACTIVE")
            iw.wait_until(lambda: [e for e in h.events(rest[second]) if e.get("deployment") == "prod-a" and
                                   e["type"] == "deployment.status_changed"], 20, "the new leader reports the change")
            iw.wait_until(lambda: len(from_member(sink, second)) > 0, 20, "the new leader delivers")
            t.eq(of_type(rest[second], "deployment.discovered"), [],
                 "the new leader announces no deployment again (state from etcd)")
            t.eq(of_type(rest[second], "alert.firing"), [], "the new leader does not fire the open alert again")
            t.eq(len(set(d["id"] for d in delivered(sink) if d["type"] == "alert.firing")), 1,
                 "one alert.firing id for the one incident")

            # SIGSTOP of the leader past its TTL: a follower takes over; after SIGCONT the old
            # leader delivers nothing.
            stopped = rest[second]
            stopped.signal(signal.SIGSTOP)
            third_name = [m for m in rest if m != second][0]
            iw.wait_until(lambda: leaders({third_name: rest[third_name]}) == [third_name], 3 * TTL + 20,
                          "the remaining follower leads while the leader is paused")
            sim.set(1, "prod-b", status="DEPLOYING")
            iw.wait_until(lambda: any(e.get("deployment") == "prod-b" and "DEPLOYING" in e["message"]
                                      for e in h.events(rest[third_name])), 20, "the third member reports prod-b")
            mark = len(sink.deliveries())
            stopped.signal(signal.SIGCONT)
            iw.wait_until(lambda: of_type(stopped, "cluster.leader_lost"), 20, "the woken leader says it lost")
            lost = of_type(stopped, "cluster.leader_lost")[-1]
            # The fence acts on the member's own clock, before etcd is even asked.
            t.ok("not renewed within its TTL" in lost["message"], "leader_lost says why: %s" % lost["message"])
            sim.set(1, "prod-b", status="DEPLOYED")
            iw.wait_until(lambda: any(e.get("deployment") == "prod-b" and "DEPLOYED" in e["message"]
                                      for e in h.events(rest[third_name])), 20, "prod-b deployed")
            late = from_member(sink, second, mark)
            t.eq(len(late), 0, "the fenced leader delivered nothing after it woke", repr(late[:3]))
            t.eq(leaders(rest), [third_name], "one leader after the pause")

            # Quorum lost: the leader cannot renew; it stops within the TTL and says why, on its
            # own clock since etcd cannot answer. Quorum back: one leader resumes.
            leader = rest[third_name]
            n_lost = len(of_type(leader, "cluster.leader_lost"))
            for m in etcd.names[1:]:
                etcd.kill(m)
            quorum_lost_at = time.monotonic()
            iw.wait_until(lambda: len(of_type(leader, "cluster.leader_lost")) > n_lost, 3 * TTL + 20,
                          "the leader stops without quorum")
            took = time.monotonic() - quorum_lost_at
            print("# quorum lost: the leader stopped after %.2f s" % took)
            t.ok(took <= TTL + 3, "the leader stops within the TTL without quorum (%.2f s)" % took)
            why = of_type(leader, "cluster.leader_lost")[-1]["message"]
            t.ok("not renewed within its TTL" in why, "and says why: %s" % why)
            # The keepalive in flight when the fence fired is cancelled: the unreachable etcd may
            # be reported by the campaign that follows, a moment later.
            try:
                iw.wait_until(lambda: of_type(leader, "cluster.etcd_unreachable"), 3 * TTL, "cluster.etcd_unreachable",
                              interval=0.1)
            except TimeoutError:
                pass
            print("# cluster.etcd_unreachable %.2f s after the quorum was lost" % (time.monotonic() - quorum_lost_at))
            t.ok(of_type(leader, "cluster.etcd_unreachable"), "cluster.etcd_unreachable was logged")
            mark = len(sink.deliveries())
            sim.set(1, "prod-a", status="DEPLOYED")
            for m in etcd.names[1:]:
                etcd.start(m)
            iw.wait_until(lambda: len(leaders(rest)) == 1, 6 * TTL + 60, "one leader once quorum is back")
            back = leaders(rest)[0]
            acquired = of_type(rest[back], "cluster.leader_acquired")[-1]["time"]
            iw.wait_until(lambda: any(h.body(d).get("deployment") == "prod-a" and "DEPLOYED" in h.body(d)["message"]
                                      for d in sink.deliveries(mark)), 30, "prod-a DEPLOYED delivered")
            # Redelivery of what was accepted before (same ids) is allowed; a new event from the
            # gap is not.
            before = set(h.ids(sink.deliveries()[:mark]))
            early = [h.body(d) for d in sink.deliveries(mark) if h.body(d)["time"] < acquired and
                     h.body(d)["id"] not in before]
            t.eq(early, [], "nothing new was emitted while no member could lead")

            # Rolling restart of every member, one by one (the killed one back first), with an
            # open incident: no alert lost or repeated, nothing announced again.
            roll = dict(rest)
            roll[first] = h.start(confs[first])
            sim.set(1, "prod-a", status="PARTIALLYDEPLOYED",
                    containers=[{"region_id": 1, "ready": 0, "error_message": "OOMKilled"}])
            iw.wait_until(lambda: [d for d in delivered(sink) if d["type"] == "alert.firing" and
                                   d.get("deployment") == "prod-a"], 30, "prod-a's alert.firing delivered")
            restarted = {}
            for name in sorted(roll):
                h.stop(t, roll[name], "member %s" % name)
                roll[name] = restarted[name] = h.start(confs[name])
                iw.wait_until(lambda: len(leaders(roll)) == 1, 6 * TTL + 30, "one leader after restarting " + name)
            sim.set(1, "prod-a", status="ACTIVE", containers=[{"region_id": 1, "ready": 1, "error_message": None}])
            iw.wait_until(lambda: [d for d in delivered(sink) if d["type"] == "alert.resolved" and
                                   d.get("deployment") == "prod-a"], 30, "prod-a's alert.resolved delivered")
            firing = set(d["id"] for d in delivered(sink) if d["type"] == "alert.firing" and d.get("deployment") == "prod-a")
            alert_ids = set(d["data"].get("alert_id") for d in delivered(sink) if d["type"] == "alert.firing"
                            and d.get("deployment") == "prod-a")
            t.eq((len(firing), len(alert_ids)), (1, 1), "rolling restart: prod-a's incident fired once (one id)")
            t.eq(len(set(d["id"] for d in delivered(sink) if d["type"] == "alert.resolved" and
                         d.get("deployment") == "prod-a")), 1, "rolling restart: and resolved once")
            t.eq([e for d in restarted.values() for e in of_type(d, "deployment.discovered")], [],
                 "rolling restart: no member announced a deployment again")
            for m, d in roll.items():
                h.stop(t, d, "member %s" % m)
    finally:
        etcd.close()


iw.run(main)
