"""The API misbehaving during a stable period: every fault kind of the simulator, on get-one
and on list requests, gives no deployment event at all (a poll failure is not a change); a
sustained outage gives one api.unreachable and one api.recovered; a revoked key gives
api.auth_failed once per project, and api.recovered when it works again."""

import scenario

scenario.begin()
import iw  # noqa: E402
import time  # noqa: E402

KINDS = [
    ("status", {"status": 500}),
    ("status", {"status": 502}),
    ("status", {"status": 503, "retry_after": "1"}),
    ("429", {"retry_after": "1"}),
    ("hang", {}),
    ("reset", {}),
    ("malformed", {}),
    ("truncated", {}),
    ("wrongtype", {"variant": "array"}),
    ("wrongtype", {"variant": "no_status"}),
    ("wrongtype", {"variant": "wrong_types"}),
    ("oversize", {"size": 4 * 1024 * 1024}),
    ("slow", {"bytes_per_second": 50}),
]
DEPLOYMENT_EVENTS = ("deployment.", "container.", "alert.")


def ok_count(w):
    return w.sim.counters()["by_status"].get("200", 0)


def inject(t, w, kind, opts):
    """The fault for the next get-one and the next list request."""
    for endpoint in ("get", "list"):
        w.sim.fault(kind, count=1, endpoint=endpoint, **opts)
    iw.wait_until(lambda: all(f["remaining"] == 0 for f in w.sim.faults()), 30, "the %s fault to be used up" % kind)
    w.sim.clear_faults()  # releases what a hang still holds
    n = ok_count(w)
    iw.wait_until(lambda: ok_count(w) >= n + 2, 30, "good polls after the %s fault" % kind)
    # Each named deployment answered once since: its second request after the clear can only
    # come once the first (fault-free) one is over. Otherwise the next kinds' faults could all
    # land on the same deployment, and unreachable_after of its own failures in a row is
    # rightly deployment.unobservable (a flake of this test, not a fault of the daemon).
    got = lambda name: w.sim.counters()["by_deployment"].get("1/" + name, 0)  # noqa: E731
    since = {name: got(name) for name in ("a", "b")}
    iw.wait_until(lambda: all(got(name) >= since[name] + 2 for name in since), 30,
                  "a and b polled twice after the %s fault" % kind)


def main(t):
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "a", "status": "ACTIVE", "regions": [1, 7]},
        {"project_id": 1, "name": "b", "status": "ACTIVE"},
        {"project_id": 2, "name": "c", "status": "ACTIVE"},
        {"project_id": 2, "name": "d", "status": "PENDING"},
    ]}
    with scenario.World(sim_scenario) as w:
        conf = w.config([(1, ["a", "b"]), (2, "*")], interval='"1s"', unreachable_after="3",
                        account_extra='max_response_size = "1MiB";')
        w.start(conf.replace('timeout = "2s"', 'timeout = "1s"'))
        w.wait_event("deployment.discovered", count=4)

        for kind, opts in KINDS:
            started = time.monotonic()
            inject(t, w, kind, opts)
            t.diag("%s %s: %.1fs" % (kind, opts, time.monotonic() - started))
        deployment_events = [e for e in w.types() if e.startswith(DEPLOYMENT_EVENTS)]
        t.eq(deployment_events, ["deployment.discovered"] * 4,
             "%d fault kinds, on get-one and on list: no deployment event besides discovery" % len(KINDS))
        t.eq(w.types(EVENT="api.unreachable"), [], "failures short of unreachable_after are not an outage")
        t.ok(any("Poll of" in m and "failed" in m for m in w.logs()), "the failures are logged as messages, not events")

        # Retry-After is honoured: after a 429 asking for 3 s, the account's next request waits.
        total = lambda: w.sim.counters()["total"]  # noqa: E731
        throttled = lambda: w.sim.counters()["by_status"].get("429", 0)  # noqa: E731
        before = throttled()
        w.sim.fault("429", count=1, retry_after="3", endpoint="get")
        iw.wait_until(lambda: throttled() > before, 10, "the 429")
        hit, n = time.monotonic(), total()
        iw.wait_until(lambda: total() > n, 10, "the next request after the 429")
        waited = time.monotonic() - hit
        t.ok(waited >= 2.8, "after 429 with Retry-After: 3 the next request came %.1fs later" % waited)
        n = ok_count(w)
        iw.wait_until(lambda: ok_count(w) >= n + 2, 15, "polls after the 429")

        # A sustained outage: one api.unreachable, one api.recovered, nothing about deployments.
        w.sim.fault("status", status=503, duration=5)
        down = w.wait_event("api.unreachable", timeout=15)[0]
        t.eq((down["ACCOUNT"], down["PRIORITY"], down["HTTP_STATUS"]), ("main", "3", "503"),
             "api.unreachable: account, err, the HTTP status")
        t.eq(down["MESSAGE_ID"], "d932a82f039f4ee29c8c5eadb4c1ef54", "api.unreachable MESSAGE_ID")
        up = w.wait_event("api.recovered", timeout=20)[0]
        t.ok(int(up["SECONDS_UNREACHABLE"]) >= 1, "api.recovered says for how long", diag=up["SECONDS_UNREACHABLE"])
        n = ok_count(w)
        iw.wait_until(lambda: ok_count(w) >= n + 6, 15, "polls after the outage")
        t.eq(len(w.events(EVENT="api.unreachable")), 1, "one api.unreachable for the whole outage")
        t.eq(len(w.events(EVENT="api.recovered")), 1, "one api.recovered")
        t.eq([e for e in w.types() if e.startswith(DEPLOYMENT_EVENTS)], ["deployment.discovered"] * 4,
             "the outage changed no deployment")

        # The key is revoked: api.auth_failed once per project, then it works again.
        w.sim.set_tokens(["some-other-key"])
        failed = w.wait_event("api.auth_failed", count=2, timeout=15)
        t.eq(sorted(e["PROJECT_ID"] for e in failed), ["1", "2"], "api.auth_failed for each project")
        t.eq(failed[0]["PRIORITY"], "2", "crit")
        t.ok("Bad permanent token" in failed[0]["API_ERROR"], "the API's own words", diag=failed[0]["API_ERROR"])
        n = w.sim.counters()["by_status"].get("401", 0)
        iw.wait_until(lambda: w.sim.counters()["by_status"].get("401", 0) >= n + 3, 15, "more polls with the bad key")
        t.eq(len(w.events(EVENT="api.auth_failed")), 2, "reported once, not at every poll")
        w.sim.set_tokens([scenario.TOKEN])
        w.wait_event("api.recovered", count=3, timeout=15)
        t.eq([e for e in w.types() if e.startswith(DEPLOYMENT_EVENTS)], ["deployment.discovered"] * 4,
             "authentication trouble changed no deployment")

        # A backoff whose probe is answered with a permanent error (400) ends there: the API
        # answers. The others are polled again (the probe is "a": it failed first, so it is the
        # first of the parked requests).
        w.sim.fault("status", status=503, count=1, endpoint="get", name="a")
        w.sim.fault("status", status=400, endpoint="get", name="a")
        iw.wait_until(lambda: w.sim.counters()["by_status"].get("400", 0) >= 1, 15, "the probe's 400")
        def polls():
            n = w.sim.counters()
            return (n["by_deployment"].get("1/a", 0), n["by_deployment"].get("1/b", 0),
                    n["by_project_list"].get("2", 0))
        before = polls()
        try:
            iw.wait_until(lambda: all(x >= y + 3 for x, y in zip(polls(), before)), 15, "polls after the 400")
        except TimeoutError:
            pass
        t.ok(all(x >= y + 3 for x, y in zip(polls(), before)),
             "after a probe's 400, a, b and project 2 are polled again", diag="%s then %s" % (before, polls()))
        w.sim.clear_faults()
        t.eq([e for e in w.types() if e.startswith(DEPLOYMENT_EVENTS)], ["deployment.discovered"] * 4,
             "a 400 changed no deployment")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
