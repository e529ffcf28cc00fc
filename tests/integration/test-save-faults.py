"""A state.json that cannot be written, a webhook spool that cannot be synced (the test build's
fault hooks, INFERWATCH_FAULT): nothing is reported under an id a restart would not know.

- Every save fails: no event is fed (journal, webhook) while state.json is not written, the
  commit is retried; after a SIGKILL and a restart without the fault each deployment is
  discovered once, under one id.
- Saves fail for a while: the retry commits the events, each once.
- Every spool sync fails: the batch is not marked fed, so a restart feeds it again with its ids
  (here monitor.stopping, the last batch before SIGTERM).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

BINARY = iw.builddir("tests", "crash", "inferwatchd-crashpoints")
ARGS = ["--log-target=stderr", "--log-format=json"]
DEPLOYMENTS = ["prod-a", "prod-b"]


def daemon(conf, fault):
    return iw.Daemon(conf, ARGS, binary=BINARY, env={"INFERWATCH_FAULT": fault, "INFERWATCH_CRASHPOINT": ""})


def failed_saves(d):
    return sum(1 for x in h.messages(d) if x and x.startswith("Failed to save state"))


def discovered(d):
    return [e for e in h.events(d) if e["type"] == "deployment.discovered"]


def delivered_discoveries(sink):
    """deployment -> the set of webhook ids its deployment.discovered was delivered under."""
    out = {}
    for x in sink.deliveries():
        b = h.body(x)
        if b["type"] == "deployment.discovered":
            out.setdefault(b["deployment"], set()).add(b["id"])
    return out


def configure(sim, sink):
    """(a new state directory, a configuration watching DEPLOYMENTS with one webhook to sink)."""
    state = iw.tmpdir("state-")
    return state, h.config(sim, state, [{"id": 1, "deployments": DEPLOYMENTS}],
                           [h.webhook("hook", sink.hook_url(), secret="k")])


def scenario():
    return {"deployments": [{"project_id": 1, "name": n} for n in DEPLOYMENTS]}


def every_save_fails(t):
    with iw.Sim(scenario()) as sim, iw.Sink(secret="k") as sink:
        state, conf = configure(sim, sink)
        first = daemon(conf, "save:1-")
        iw.wait_until(lambda: all(sim.counters()["by_deployment"].get("1/" + n, 0) >= 1 for n in DEPLOYMENTS), 20,
                      "both deployments polled", interval=0.1)
        before = failed_saves(first)
        # Two more attempts since: the discoveries were committed (the retry keeps trying).
        iw.wait_until(lambda: failed_saves(first) >= before + 2 or discovered(first), 20, "two more failed saves",
                      interval=0.1)
        t.eq(h.events(first), [], "no event is logged while state.json cannot be written")
        t.eq(h.spool_ids(state, "hook"), [], "nor spooled for the webhook")
        first.kill()
        h.check_clean(t, first, "the daemon whose saves fail")

        second = daemon(conf, "")
        # Without state.json the restart discovers both deployments: wait for that, and for those
        # events to reach the receiver.
        iw.wait_until(lambda: len(discovered(second)) == len(DEPLOYMENTS), 20, "the discoveries after the restart",
                      interval=0.1)
        iw.wait_until(lambda: {e["id"] for e in discovered(second)} <=
                      {i for v in delivered_discoveries(sink).values() for i in v}, 20, "the discoveries delivered",
                      interval=0.1)
        t.eq({k: len(v) for k, v in delivered_discoveries(sink).items()}, {n: 1 for n in DEPLOYMENTS},
             "after the restart each deployment was delivered as discovered under one id")
        t.eq(discovered(first), [], "the daemon whose saves failed logged no discovery")
        h.stop(t, second)


def saves_fail_for_a_while(t):
    with iw.Sim(scenario()) as sim, iw.Sink(secret="k") as sink:
        state, conf = configure(sim, sink)
        d = daemon(conf, "save:1-3")
        iw.wait_until(lambda: len(discovered(d)) == len(DEPLOYMENTS), 20, "the discoveries, once a save succeeds",
                      interval=0.1)
        t.eq(failed_saves(d), 3, "three saves failed before")
        types = [e["type"] for e in h.events(d)]
        t.eq(types.count("monitor.started"), 1, "monitor.started logged once, after the retry")
        iw.wait_until(lambda: len(delivered_discoveries(sink)) == len(DEPLOYMENTS), 20, "the discoveries delivered",
                      interval=0.1)
        t.eq({k: len(v) for k, v in delivered_discoveries(sink).items()}, {n: 1 for n in DEPLOYMENTS},
             "each discovery delivered under one id")
        t.eq(sorted(e["id"] for e in discovered(d)), sorted(i for v in delivered_discoveries(sink).values() for i in v),
             "the ids logged are the ids delivered")
        h.stop(t, d)


def every_sync_fails(t):
    with iw.Sim(scenario()) as sim, iw.Sink(secret="k") as sink:
        state, conf = configure(sim, sink)
        first = daemon(conf, "sync:1-")
        iw.wait_until(lambda: len(discovered(first)) == len(DEPLOYMENTS), 20, "the discoveries", interval=0.1)
        h.stop(t, first, "the daemon whose spool syncs fail")
        stopping = [e["id"] for e in h.events(first) if e["type"] == "monitor.stopping"]
        t.eq(len(stopping), 1, "monitor.stopping logged")
        t.ok(any(x and x.startswith("Failed to sync the webhook spools") for x in h.messages(first)),
             "the failed syncs were logged")

        second = daemon(conf, "")
        iw.wait_until(lambda: any(e["type"] == "monitor.started" for e in h.events(second)), 20, "the restart",
                      interval=0.1)
        replayed = []
        for e in h.events(second):
            if e["type"] == "monitor.started":
                break
            replayed.append(e["id"])
        t.eq(replayed, stopping, "the restart fed the unsynced last batch again, with its id")
        h.stop(t, second)


def main(t):
    if not os.access(BINARY, os.X_OK):
        t.skip_all("%s is not built" % BINARY)
    every_save_fails(t)
    saves_fail_for_a_while(t)
    every_sync_fails(t)


iw.run(main)
