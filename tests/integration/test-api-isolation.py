"""A fault of one deployment is that deployment's problem, not the account's (issue 10, items 3
and 4, and the long Retry-After):

- 20 deployments, one answering HTTP 500 at every poll for 15 intervals (150 s at the issue's
  10 s): the 19 others keep their interval (a bound on their poll gaps, from the simulator's
  counters), no api.unreachable, the failing one is reported once (one log warning, and one
  deployment.unobservable in the journal and at the webhook, none for the others) and polled
  less and less often (its gaps grow past the interval); once it answers again, one
  deployment.observable, and its interval is back; across a restart, neither is repeated nor lost;
- answers whose counts cannot be trusted ("ready": "1", a null deploy_status) change nothing: no
  transition, no alert, a poll failure that says why (deployment.unobservable, then observable);
- HTTP 500 for every deployment is still an outage: one api.unreachable, one api.recovered, no
  deployment.unobservable;
- a 429 asking for an hour of silence is api.unreachable at once, and the pause is capped;
- a 2 MB error_message is carried cut to 4000 bytes, also when its controls are escaped."""

import scenario

scenario.begin()
import hooklib as h  # noqa: E402
import iw  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

N = 20
INTERVAL = 2.0
BAD = "d07"
NAMES = ["d%02d" % i for i in range(N)]
DEPLOYMENT_EVENTS = ("deployment.", "container.", "alert.")
# Whether a deployment can be observed is no change of the deployment itself.
OBSERVABILITY = ("deployment.unobservable", "deployment.observable")
WINDOW = 15 * INTERVAL
UNOBSERVABLE_ID = "0f184923d20a498c911d8aa59cab711b"
OBSERVABLE_ID = "1bc56eae51f044269c082d7f490db61a"


def polls(w):
    return w.sim.counters()["by_deployment"]


def deployment_events(w):
    return [(e["EVENT"], e.get("DEPLOYMENT")) for e in w.events()
            if e["EVENT"].startswith(DEPLOYMENT_EVENTS) and e["EVENT"] not in OBSERVABILITY]


def delivered(sink, event_type):
    """The bodies of the webhook deliveries of that event type."""
    return [b for b in (json.loads(d["body"]) for d in sink.deliveries()) if b.get("type") == event_type]


def failure_logs(w, name):
    """The reports of a deployment failing on its own."""
    return [m for m in w.logs() if m.startswith("Poll of %s (project 1) failed" % name) and "on its own" in m]


def watch_gaps(w, seconds):
    """Samples the per-deployment request counters for that long; returns {name: [gaps]}, the
    time between the arrivals of successive polls (to the sampling period)."""
    seen, last, gaps = polls(w), {}, {n: [] for n in NAMES}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now, cur = time.monotonic(), polls(w)
        for n in NAMES:
            key = "1/" + n
            if cur.get(key, 0) > seen.get(key, 0):
                if n in last:
                    gaps[n].append(now - last[n])
                last[n] = now
        seen = cur
        time.sleep(0.05)
    return gaps


def one_failing(t, w, sink):
    w.sim.fault("status", status=500, endpoint="get", name=BAD)
    before = polls(w).get("1/" + BAD, 0)
    gaps = watch_gaps(w, WINDOW)
    healthy = [g for n in NAMES if n != BAD for g in gaps[n]]
    worst = max(healthy) if healthy else None
    mean = sum(healthy) / len(healthy) if healthy else None
    t.diag("healthy poll gaps with %s failing: %d gaps, mean %.2fs, worst %.2fs" % (BAD, len(healthy), mean, worst))
    t.ok(all(len(gaps[n]) >= 12 for n in NAMES if n != BAD),
         "each of the 19 healthy deployments was polled about every interval",
         diag={n: len(gaps[n]) for n in NAMES})
    t.ok(worst is not None and worst <= INTERVAL + 0.35,
         "no healthy deployment waited more than the interval (+ sampling) between polls", diag=worst)
    t.ok(mean is not None and mean <= INTERVAL * 0.98 + 0.1, "their mean gap is the interval's", diag=mean)
    bad_polls = polls(w).get("1/" + BAD, 0) - before
    t.diag("%s: %d polls in %.0fs, gaps %s" % (BAD, bad_polls, WINDOW, ", ".join("%.2f" % g for g in gaps[BAD])))
    # 0.5 s doubling (less up to 25 %): about 6 polls in 15 intervals; at most one per interval
    # (the cap before the backoff may pass it) would be 15 or more.
    t.ok(3 <= bad_polls <= 9, "the failing one is retried on its own, less and less often", diag=bad_polls)
    t.ok(len([g for g in gaps[BAD] if g > 1.25 * INTERVAL]) >= 2 and max(gaps[BAD] or [0]) > 2.5 * INTERVAL,
         "its poll gaps grow past the interval", diag=gaps[BAD])
    t.eq(w.types(EVENT="api.unreachable"), [], "one deployment's 500 is no api.unreachable (%.0f intervals)" %
         (WINDOW / INTERVAL))
    t.eq(len(failure_logs(w, BAD)), 1, "the failing deployment is logged once, not at every poll")
    t.ok("HTTP 500" in failure_logs(w, BAD)[0] and "on its own" in failure_logs(w, BAD)[0],
         "the log says what failed and that it is retried on its own", diag=failure_logs(w, BAD))
    t.eq(sorted(deployment_events(w)), [("deployment.discovered", n) for n in NAMES + ["e1", "e2", "e3"]],
         "no deployment event while it fails: no transition")

    down = w.events(EVENT="deployment.unobservable")
    t.eq([e.get("DEPLOYMENT") for e in down], [BAD], "one deployment.unobservable, for the failing one only")
    if down:
        e = down[0]
        t.eq((e.get("MESSAGE_ID"), e.get("PRIORITY"), e.get("PROJECT_ID"), e.get("HTTP_STATUS"), e.get("FAILURES"),
              e.get("STATUS"), e.get("HEALTH")), (UNOBSERVABLE_ID, "4", "1", "500", "3", "ACTIVE", "healthy"),
             "deployment.unobservable: its MESSAGE_ID, a warning, the HTTP status, 3 failures, the last known state")
        t.ok("HTTP 500" in e.get("API_ERROR", "") and "cannot be observed" in e.get("MESSAGE", ""),
             "... and the error, in a message that says so", diag=(e.get("API_ERROR"), e.get("MESSAGE")))
    iw.wait_until(lambda: delivered(sink, "deployment.unobservable"), 10, "the webhook delivery")
    hooked = delivered(sink, "deployment.unobservable")
    t.eq([(b["deployment"], b["data"].get("http_status"), b["id"]) for b in hooked],
         [(BAD, 500, down[0].get("EVENT_ID") if down else None)],
         "the webhook receives it once, with the journal entry's id")

    w.sim.clear_faults()
    # Its next poll comes when its backoff ends: at most 10 intervals away.
    up = w.wait_event("deployment.observable", timeout=12 * INTERVAL)[0]
    t.eq((up.get("DEPLOYMENT"), up.get("MESSAGE_ID"), up.get("PRIORITY")), (BAD, OBSERVABLE_ID, "5"),
         "deployment.observable once it answers again: a notice")
    t.ok(int(up.get("SECONDS_UNOBSERVABLE", "-1")) >= WINDOW - 2 * INTERVAL, "... saying for how long",
         diag=up.get("SECONDS_UNOBSERVABLE"))
    t.ok(any(m.startswith("Poll of %s (project 1) succeeds again" % BAD) for m in w.logs()),
         "the log says it answers again")
    after = watch_gaps(w, 5 * INTERVAL)
    t.ok(len(after[BAD]) >= 3 and max(after[BAD]) <= INTERVAL + 0.35, "its interval is back", diag=after[BAD])
    iw.wait_until(lambda: delivered(sink, "deployment.observable"), 10, "the webhook delivery")
    t.eq([e.get("DEPLOYMENT") for e in w.events(EVENT="deployment.observable")], [BAD],
         "one deployment.observable in the journal")
    t.eq([b["deployment"] for b in delivered(sink, "deployment.observable")], [BAD], "one at the webhook")
    t.eq(sorted(deployment_events(w)), [("deployment.discovered", n) for n in NAMES + ["e1", "e2", "e3"]],
         "observed again, the same as before: no transition")


def untrusted_counts(t, w):
    """d03 is healthy and its ready becomes a string; d05 failed (an alert is open) and its
    deploy_status becomes null. Read as 0 and 0/0, the first would fail and the second recover."""
    w.sim.set(1, "d05", ready=0, containers=[{"region_id": 1, "error_message": "CrashLoopBackOff"}])
    w.wait_event("alert.firing", DEPLOYMENT="d05", timeout=20)
    baseline = deployment_events(w)
    good = w.sim.deployment(1, "d03")["containers"]
    failed = w.sim.deployment(1, "d05")["containers"]
    w.sim.set(1, "d03", raw={"containers": [dict(good[0], deploy_status={"ready": "1", "total": 1})]})
    w.sim.set(1, "d05", raw={"containers": [dict(failed[0], deploy_status=None)]})
    start = polls(w)
    iw.wait_until(lambda: all(polls(w).get("1/" + n, 0) >= start.get("1/" + n, 0) + 4 for n in ("d03", "d05")),
                  6 * INTERVAL, "polls of the untrusted answers")
    t.eq(deployment_events(w)[len(baseline):], [], "untrusted counts: no transition, no alert, no resolution")
    for name, why in (("d03", "ready count is not an integer"), ("d05", '"deploy_status" is not an object')):
        logs = failure_logs(w, name)
        t.ok(len(logs) == 1 and "unusable body" in logs[0] and why in logs[0],
             "%s: one poll failure that says why (%s)" % (name, why), diag=logs)
    t.eq(w.types(EVENT="api.unreachable"), [], "two deployments' unusable bodies are no api.unreachable")
    down = [e for e in w.events(EVENT="deployment.unobservable") if e.get("DEPLOYMENT") != BAD]
    t.eq(sorted(e.get("DEPLOYMENT") for e in down), ["d03", "d05"], "each is reported unobservable once")
    t.ok(all("unusable body" in e.get("API_ERROR", "") for e in down), "... saying why",
         diag=[e.get("API_ERROR") for e in down])
    w.sim.set(1, "d03", raw={"containers": good})
    w.sim.set(1, "d05", raw={"containers": failed})
    start = polls(w)
    iw.wait_until(lambda: all(polls(w).get("1/" + n, 0) >= start.get("1/" + n, 0) + 2 for n in ("d03", "d05")),
                  8 * INTERVAL, "polls of the trusted answers again")
    t.eq(deployment_events(w)[len(baseline):], [], "the answers trusted again are what they were: no event")
    t.eq(sorted(e.get("DEPLOYMENT") for e in w.events(EVENT="deployment.observable")), ["d03", "d05", BAD],
         "each is observable again, once")


def untrusted_list_item(t, w):
    """In a "*" project, one item whose counts cannot be trusted is that deployment's poll
    failure: the page is still read (the others observed, none reported gone), no transition."""
    baseline = deployment_events(w)
    good = w.sim.deployment(2, "e2")["containers"]
    w.sim.set(2, "e2", raw={"containers": [dict(good[0], deploy_status={"ready": 1, "total": -1})]})
    lists = lambda: w.sim.counters()["by_project_list"].get("2", 0)  # noqa: E731
    n = lists()
    iw.wait_until(lambda: lists() >= n + 3, 6 * INTERVAL, "list polls of project 2")
    t.eq(deployment_events(w)[len(baseline):], [], "an untrusted list item: no transition, nothing gone")
    logs = [m for m in w.logs() if m.startswith("Poll of e2 (project 2) failed")]
    t.ok(len(logs) == 1 and "total count is out of range" in logs[0] and "rest of the list" in logs[0],
         "e2: one poll failure that says why, the rest of the list used", diag=logs)
    t.eq(w.types(EVENT="api.unreachable"), [], "an untrusted list item is no api.unreachable")
    w.sim.set(2, "e3", status="DEPLOYING")
    w.wait_event("deployment.status_changed", DEPLOYMENT="e3", timeout=4 * INTERVAL)
    t.ok(True, "a change of another item of the same page is seen")
    w.sim.set(2, "e3", status="ACTIVE")
    w.sim.set(2, "e2", raw={"containers": good})
    w.wait_event("deployment.status_changed", DEPLOYMENT="e3", count=2, timeout=4 * INTERVAL)


def long_error_message(t, w):
    """A 2 MB error_message: the events carry at most 4000 bytes of it, cut between characters."""
    # 2 MB; two-byte characters where the cut falls (the harness sends them escaped, 6 bytes each)
    text = "x" + "\u00e9" * 3000 + "y" * (2 * 1024 * 1024)
    w.sim.set(1, "d11", containers=[{"region_id": 1, "ready": 0, "error_message": text}])
    e = w.wait_event("container.error", DEPLOYMENT="d11", timeout=20)[0]
    got = e["ERROR_MESSAGE"]
    raw = got.encode() if isinstance(got, str) else bytes(got)
    t.ok(len(raw) <= 4000 and raw.decode().endswith(" [... cut]"),
         "the event carries at most 4000 bytes of it, marked as cut", diag=len(raw))
    t.ok(text.startswith(raw.decode()[:-len(" [... cut]")]), "... its beginning, whole characters")
    t.ok(len(e["MESSAGE"].encode()) < 4300, "the message too", diag=len(e["MESSAGE"]))
    w.sim.set(1, "d11", ready=1, containers=[{"region_id": 1, "error_message": None}])
    w.wait_event("container.error_cleared", DEPLOYMENT="d11", timeout=20)
    # Control characters, each shown as \xHH: the cap holds for the text as the journal stores it
    # (a field of 4096 bytes or more is null in journalctl -o json).
    text = "\x1b" * 5000
    w.sim.set(1, "d11", ready=0, containers=[{"region_id": 1, "ready": 0, "error_message": text}])
    e = w.wait_event("container.error", DEPLOYMENT="d11", count=2, timeout=20)[1]
    got = e.get("ERROR_MESSAGE")
    t.ok(isinstance(got, str) and len(got.encode()) <= 4000 and got.endswith("\\x1b [... cut]"),
         "4000 bytes at most once escaped, marked as cut", diag=len(got) if isinstance(got, str) else repr(got))
    t.ok(isinstance(e.get("MESSAGE"), str) and len(e["MESSAGE"].encode()) < 4096,
         "the message too", diag=repr(e.get("MESSAGE"))[:200])
    w.sim.set(1, "d11", ready=1, containers=[{"region_id": 1, "error_message": None}])
    w.wait_event("container.error_cleared", DEPLOYMENT="d11", count=2, timeout=20)


def restart_while_unobservable(t, w, sink, conf):
    """The report survives a restart: not made again, and its deployment.observable still comes."""
    name = "d09"
    w.sim.fault("status", status=500, endpoint="get", name=name)
    w.wait_event("deployment.unobservable", DEPLOYMENT=name, timeout=6 * INTERVAL)
    w.daemon.stop()
    w.start(conf)
    w.wait_event("monitor.started", count=2)
    n = polls(w).get("1/" + name, 0)
    iw.wait_until(lambda: polls(w).get("1/" + name, 0) >= n + 4, 10 * INTERVAL, "four failed polls after the restart")
    t.eq(len(w.events(EVENT="deployment.unobservable", DEPLOYMENT=name)), 1,
         "after a restart, a deployment still failing is not reported again")
    w.sim.clear_faults()
    up = w.wait_event("deployment.observable", DEPLOYMENT=name, timeout=12 * INTERVAL)
    t.eq(len(up), 1, "its deployment.observable comes after the restart")
    iw.wait_until(lambda: [b for b in delivered(sink, "deployment.observable") if b["deployment"] == name], 10,
                  "the webhook delivery")
    t.eq([b["deployment"] for b in delivered(sink, "deployment.unobservable")].count(name), 1,
         "the webhook got one deployment.unobservable for it")


def whole_api_500(t, w):
    unobservable = len(w.events(EVENT="deployment.unobservable"))
    w.sim.fault("status", status=500, endpoint="any", duration=8)
    down = w.wait_event("api.unreachable", timeout=20)[0]
    t.eq(down["HTTP_STATUS"], "500", "HTTP 500 for every deployment is an outage: api.unreachable")
    w.wait_event("api.recovered", timeout=25)
    n = w.sim.counters()["by_status"].get("200", 0)
    iw.wait_until(lambda: w.sim.counters()["by_status"].get("200", 0) >= n + N, 15, "polls after the outage")
    t.eq((len(w.events(EVENT="api.unreachable")), len(w.events(EVENT="api.recovered"))), (1, 1),
         "one api.unreachable and one api.recovered for the whole outage")
    t.eq(len(w.events(EVENT="deployment.unobservable")), unobservable, "an outage is no deployment.unobservable")


def long_retry_after(t, w):
    w.sim.fault("429", retry_after="3600", count=1, endpoint="get")
    down = w.wait_event("api.unreachable", count=2, timeout=10)[1]
    t.eq(down["HTTP_STATUS"], "429", "a 429 asking for an hour of silence is api.unreachable at once")
    t.ok(any("paused for" in m and "Retry-After capped" in m for m in w.logs()),
         "the log says the pause was capped", diag=[m for m in w.logs() if "paused" in m])
    t.ok(any("paused for 10m" in m or "paused for 9m" in m for m in w.logs()),
         "the pause is capped at ten minutes", diag=[m for m in w.logs() if "paused" in m])


def main(t):
    sim_scenario = {"deployments": [{"project_id": 1, "name": n, "status": "ACTIVE"} for n in NAMES] +
                    [{"project_id": 2, "name": n, "status": "ACTIVE"} for n in ("e1", "e2", "e3")]}
    with scenario.World(sim_scenario) as w, iw.Sink() as sink:
        hook = h.webhook("json", sink.hook_url("/json"), events=["deployment.*"])
        conf = w.config([(1, NAMES), (2, "*")], interval='"%ds"' % INTERVAL) + "webhooks = ( %s );\n" % h._group(hook)
        w.start(conf)
        w.wait_event("deployment.discovered", count=N + 3)
        with t.case("one deployment answering 500"):
            one_failing(t, w, sink)
        with t.case("untrusted counts"):
            untrusted_counts(t, w)
        with t.case("an untrusted item in a list"):
            untrusted_list_item(t, w)
        with t.case("a 2 MB error_message"):
            long_error_message(t, w)
        with t.case("a restart while a deployment is unobservable"):
            restart_while_unobservable(t, w, sink, conf)
        with t.case("HTTP 500 everywhere"):
            whole_api_500(t, w)
        with t.case("Retry-After: 3600"):
            long_retry_after(t, w)
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
