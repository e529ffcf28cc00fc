"""The request plan of a project with named deployments: through the list endpoint when its
pages take fewer requests than one get-one per name, by get-one otherwise, re-decided when the
list's count changes. A named deployment the API does not have is reported as the get-one plan
reports it; a transitional one is still polled by get-one at fast_interval; the per-account
max_requests_per_second ceiling delays polls, drops none, and says a sustained excess once."""

import os
import re
import sys
import time

import scenario

scenario.begin()
import iw  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
import metricslib as ml  # noqa: E402

NAMED = ["svc-%05d" % i for i in range(20)]
FLEET = {"fleets": [{"project_id": 1, "prefix": "svc-", "count": 50, "status": "ACTIVE"}]}


def shape(e):
    """What a gone event says, without its time."""
    return {k: e.get(k) for k in ("EVENT", "DEPLOYMENT", "PROJECT_ID", "OLD_STATUS", "OLD_HEALTH", "HEALTH",
                                  "PRIORITY", "MESSAGE_ID")} | {"TEXT": re.sub(r"for [0-9a-z]+\)", "for T)", e.get("MESSAGE", ""))}


def gets(w, name):
    return w.sim.counters()["by_deployment"].get("1/" + name, 0)


def lists(w):
    return w.sim.counters()["by_project_list"].get("1", 0)


def named_world(t, page_size):
    """Runs the 20 named (and one that never existed, and one deleted) under the plan that
    page_size makes; returns the gone events."""
    w = scenario.World(FLEET)
    w.__enter__()
    w.start(w.config([(1, NAMED + ["ghost"])], account_extra="page_size = %d; list_named_deployments = true;" % page_size))
    found = w.wait_event("deployment.discovered", count=20, timeout=30)
    t.eq(sorted(e["DEPLOYMENT"] for e in found), NAMED, "page_size %d: the 20 named are discovered" % page_size)
    ghost = w.wait_event("deployment.gone", DEPLOYMENT="ghost")
    w.sim.delete(1, "svc-00003")
    deleted = w.wait_event("deployment.gone", DEPLOYMENT="svc-00003", timeout=20)
    t.ok(gets(w, "svc-00003") >= 1, "page_size %d: the deletion was confirmed by a get-one" % page_size)
    return w, [shape(ghost[0]), shape(deleted[0])]


def main(t):
    # The get-one plan: 50 pages of 1 would cost more than 21 get-ones.
    w, by_get = named_world(t, 1)
    try:
        iw.wait_until(lambda: any("polled by get-one" in m for m in w.logs()), 10, "the plan said")
        before = gets(w, "svc-00010")
        iw.wait_until(lambda: gets(w, "svc-00010") >= before + 2, 15, "get-one polls of a stable one")
    finally:
        w.__exit__(None, None, None)

    # The list plan: 17 pages of 3 for 21 names.
    w, by_list = named_world(t, 3)
    try:
        t.eq(by_list, by_get, "a named deployment absent from the API is reported as by the get-one plan",
             diag="list: %r\nget-one: %r" % (by_list, by_get))
        plan = [m for m in w.logs() if "through the list endpoint" in m]
        t.eq(len(plan), 1, "the plan is logged once", diag="\n".join(w.logs()))
        t.ok("17 pages of 3 per cycle (50 deployments) instead of 21 get-one requests" in plan[0],
             "the plan's figures", diag=plan[0])

        # Steady: the stable named ones cost no get-one; the gone ones one each per interval.
        start = lists(w)
        iw.wait_until(lambda: lists(w) >= start + 17, 20, "one list cycle")
        before, t0 = w.sim.counters(), time.monotonic()
        iw.wait_until(lambda: lists(w) >= before["by_project_list"]["1"] + 3 * 17, 30, "three more list cycles")
        after, t1 = w.sim.counters(), time.monotonic()
        stable = [n for n in NAMED if n != "svc-00003"]
        t.eq([n for n in stable if after["by_deployment"].get("1/" + n, 0) != before["by_deployment"].get("1/" + n, 0)],
             [], "stable named deployments are observed through the list, with no get-one")
        t.ok(not any(k.startswith("1/svc-000") and k[-5:] >= "00020" for k in after["by_deployment"]),
             "deployments not named are never polled", diag=str(after["by_deployment"]))
        t.eq(len(w.events(DEPLOYMENT="svc-00030")), 0, "nor reported")
        # The list cycle runs as often as the budget of 21 get-ones per 2 s interval allows (a
        # poll comes up to a tenth of the interval early, as every stable one does).
        rate = (after["total"] - before["total"]) / (t1 - t0)
        t.ok(rate <= 21 / 2.0 / 0.9 * 1.1, "no more requests than the get-one plan", diag="%.1f/s" % rate)

        # A stable deployment's change is seen through the list; a transitional one is polled
        # by get-one at fast_interval.
        w.sim.set(1, "svc-00007", status="DISABLED")
        w.wait_event("deployment.status_changed", DEPLOYMENT="svc-00007", NEW_STATUS="DISABLED", timeout=10)
        w.sim.set(1, "svc-00005", status="DEPLOYING")
        w.wait_event("deployment.status_changed", DEPLOYMENT="svc-00005", NEW_STATUS="DEPLOYING", timeout=10)
        n = gets(w, "svc-00005")
        iw.wait_until(lambda: gets(w, "svc-00005") >= n + 4, 10, "fast get-one polls of the DEPLOYING one")
        w.sim.set(1, "svc-00005", status="ACTIVE")
        w.wait_event("deployment.status_changed", DEPLOYMENT="svc-00005", NEW_STATUS="ACTIVE", timeout=10)

        # The count grows past what the list saves: back to get-one, said once.
        for i in range(16):
            w.sim.create(1, "extra-%02d" % i, status="ACTIVE")
        iw.wait_until(lambda: any("polled by get-one" in m for m in w.logs()), 20, "the plan changed")
        # The daemon may see the count while the 16 are still being created: any count from the
        # one that tips the balance (19 pages + 2 unlisted >= 21 names) to all 65.
        said = [re.search(r"would take (\d+) pages of 3 \((\d+) deployments\), and 2 of them are not listed", m)
                for m in w.logs()]
        said = [(int(m.group(1)), int(m.group(2))) for m in said if m]
        t.ok(len(said) == 1 and said[0][0] == -(-said[0][1] // 3) and said[0][0] + 2 >= 21 and
             55 <= said[0][1] <= 65, "its figures", diag="\n".join(w.logs()))
        n = gets(w, "svc-00010")
        iw.wait_until(lambda: gets(w, "svc-00010") >= n + 2, 15, "stable named ones polled by get-one again")
        t.eq(len([m for m in w.logs() if "through the list endpoint" in m]), 1, "the list plan was said once")
        t.eq(len(w.events(EVENT="deployment.discovered")), 20, "nothing discovered twice, no extra one reported")
        scenario.no_sanitizer_report(t, w.daemon)
    finally:
        w.__exit__(None, None, None)

    # One page serves them all: its count (the last page's) decides too.
    small = {"fleets": [{"project_id": 1, "prefix": "svc-", "count": 5, "status": "ACTIVE"}]}
    with scenario.World(small) as w:
        w.start(w.config([(1, NAMED[:3])], account_extra="list_named_deployments = true;"))
        w.wait_event("deployment.discovered", count=3)
        said = "3 named deployments observed through the list endpoint, 1 page of 100 per cycle (5 deployments)"
        iw.wait_until(lambda: any(said in m for m in w.logs()), 10, "the plan of a one-page list said")
        n = lists(w)
        iw.wait_until(lambda: lists(w) >= n + 5, 15, "five more list cycles")
        t.eq(w.sim.counters()["by_endpoint"]["get"], 0, "a one-page list: no get-one at all")

    # The ceiling: 30 named by get-one every 2 s want 15 requests per second; 5 are allowed.
    names = ["svc-%05d" % i for i in range(30)]
    fleet = {"fleets": [{"project_id": 1, "prefix": "svc-", "count": 30, "status": "ACTIVE"}]}
    with scenario.World(fleet) as w:
        w.start(w.config([(1, names)], account_extra="max_requests_per_second = 5;"))
        w.wait_event("deployment.discovered", count=30, timeout=30)
        before, t0 = w.sim.counters(), time.monotonic()
        iw.wait_until(lambda: w.sim.counters()["total"] >= before["total"] + 40, 30, "40 more requests")
        after, t1 = w.sim.counters(), time.monotonic()
        rate = (after["total"] - before["total"] - 1) / (t1 - t0)
        t.ok(rate <= 5.0, "requests per second at the simulator stay under the ceiling", diag="%.2f/s" % rate)
        warned = lambda: [m for m in w.logs() if "need more than max_requests_per_second=5" in m]  # noqa: E731
        iw.wait_until(warned, 15, "the sustained excess is said")
        counts = w.sim.counters()["by_deployment"]
        iw.wait_until(lambda: all(w.sim.counters()["by_deployment"].get("1/" + n, 0) >= counts.get("1/" + n, 0) + 1
                                  for n in names), 30, "every deployment still polled (delayed, not dropped)")
        t.eq(len(warned()), 1, "said once, not per poll", diag="\n".join(warned()))
        scenario.no_sanitizer_report(t, w.daemon)

    # /metrics counts the delayed polls.
    with iw.Sim(fleet) as sim:
        conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": names}], [],
                        account={"max_requests_per_second": 5}, interval="2s")
        d, port = ml.start(conf)
        try:
            delayed = lambda: ml.value(ml.parse(ml.scrape(port).body.decode()),  # noqa: E731
                                       "inferwatch_api_requests_delayed_total", account="default")
            iw.wait_until(lambda: (delayed() or 0) >= 10, 20, "delayed polls counted")
            t.ok(True, "inferwatch_api_requests_delayed_total counts the polls that waited")
        finally:
            d.stop()


iw.run(main)
