"""B3, detection latency: the simulator changes the status of random deployments of a fleet
(random_changes, seeded) and the latency of each change is the time from the change at the API
(the simulator's realtime_us in /_sim/changes) to the deployment.status_changed entry in the
journal (its __REALTIME_TIMESTAMP, from a private journald; without one, the "time" of the
daemon's JSON log line on stderr, a millisecond clock).

A fleet of 120 deployments, most of them stable (90 ACTIVE, 15 DEPLOYING, 15 PARTIALLYDEPLOYED
at the start), in one project watched with "*": the list endpoint every interval (shortened to 10 s so that stable
deployments give samples in minutes; the default is 60 s), and get-one polls every fast_interval
(the default, 2 s) for transitional deployments. A change counts as transitional when the daemon
last saw the deployment DEPLOYING or PARTIALLYDEPLOYED (it polls it at fast_interval), as stable
when it last saw it ACTIVE. A change overwritten by the next change of the same deployment before
any poll saw it cannot be detected and is counted apart.

The fixed-interval poller of the same budget is computed: the daemon's requests per second,
spread evenly over all N deployments, give each a period P = N / rate; its latency is uniform on
[0, P]: p50 = P / 2, p95 = 0.95 P, max = P.
"""

import json
import time
from datetime import datetime

from benchlib import TOKEN, Figure, daemon_config, iw, percentile, progress, stop_usage, write_csv

BENCH = "B3 detection latency"
TRANSITIONAL = ("DEPLOYING", "PARTIALLYDEPLOYED")
INITIAL = {"lat-a-": "ACTIVE", "lat-d-": "DEPLOYING", "lat-p-": "PARTIALLYDEPLOYED"}


def stderr_events(daemon):
    """deployment.status_changed events from the JSON log lines: [(name, new_status, µs)]."""
    out = []
    for line in daemon.stderr().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("type") == "deployment.status_changed":
            t = datetime.strptime(e["time"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
            out.append((e["deployment"], e["data"]["new_status"], int(round(t * 1e6))))
    return out


def journal_events(journal):
    out = []
    for e in journal.entries(SYSLOG_IDENTIFIER="inferwatchd", EVENT="deployment.status_changed"):
        out.append((e["DEPLOYMENT"], e["NEW_STATUS"], int(e["__REALTIME_TIMESTAMP"])))
    return out


def match(changes, events, initial):
    """One sample per change: {name, status, before, kind, latency_s or None (overwritten)}."""
    by_name = {}
    for name, status, ts in sorted(events, key=lambda e: e[2]):
        by_name.setdefault(name, []).append((ts, status))
    per_dep = {}
    for c in changes:
        if c["action"] == "set":
            per_dep.setdefault(c["name"], []).append(c)
    samples = []
    for name, cs in per_dep.items():
        seen = by_name.get(name, [])
        for i, c in enumerate(cs):
            t0 = c["realtime_us"]
            t_next = cs[i + 1]["realtime_us"] if i + 1 < len(cs) else float("inf")
            believed = initial(name)
            for ts, status in seen:
                if ts < t0:
                    believed = status
            hit = None
            for ts, status in seen:
                # An entry up to 0.5 s after the next change still comes from a poll made before it.
                if ts >= t0 and status == c["status"] and ts < t_next + 500000:
                    hit = ts
                    break
            samples.append({"seq": c["seq"], "name": name, "status": c["status"], "believed": believed,
                            "kind": "transitional" if believed in TRANSITIONAL else "stable",
                            "change_us": t0, "entry_us": hit,
                            "latency_s": (hit - t0) / 1e6 if hit is not None else None})
    return sorted(samples, key=lambda s: s["seq"])


def observe_changes(sim, conf, journal, start_at, duration, interval):
    """Runs the daemon on conf through the simulator's changes: (counters of the requests during
    the changes, their window in s, the changes, the status_changed entries)."""
    args = ["--log-target=journal"] if journal else ["--log-target=stderr", "--log-format=json"]
    d = iw.Daemon(conf, args=args)
    # Requests are counted over the period of changes only.
    iw.wait_until(lambda: sim.clock()["t"] >= start_at, 30, "the first change")
    sim.reset_counters()
    t0 = time.monotonic()
    iw.wait_until(lambda: sim.clock()["t"] >= start_at + duration, duration + 30, "the last change", interval=0.5)
    counters = sim.counters()
    window = time.monotonic() - t0
    time.sleep(interval + 2)  # the last changes' detection
    changes = sim.changes()
    stop_usage(d.proc)
    events = journal_events(journal) if journal else stderr_events(d)
    return counters, window, changes, events


def run(ctx):
    sizes = {"lat-a-": ctx.param("b3_active", 90, 20), "lat-d-": ctx.param("b3_deploying", 15, 5),
             "lat-p-": ctx.param("b3_partial", 15, 5)}
    duration = ctx.param("b3_seconds", 150, 30)
    rate = ctx.param("b3_rate", 1.0, 1.0)
    interval, fast = 10, 2
    n = sum(sizes.values())
    start_at = 8
    scenario = {
        "fleets": [{"project_id": 1, "prefix": p, "count": sizes[p], "status": s, "regions": [1, 7], "ready": 1}
                   for p, s in INITIAL.items()],
        "random_changes": {"project_id": 1, "prefix": "lat-", "rate": rate,
                           "statuses": ["ACTIVE", "DEPLOYING", "PARTIALLYDEPLOYED"],
                           "start": start_at, "stop": start_at + duration},
    }
    source = "journal" if ctx.journal else "stderr"
    progress("B3: %d deployments, %g random status changes/s for %d s, interval %d s, fast_interval %d s, "
             "timestamps from the %s" % (n, rate, duration, interval, fast, source))
    journal = iw.Journal() if ctx.journal else None
    sim = iw.Sim(scenario, tokens=(TOKEN,), seed=7)
    key = iw.write_secret("api-key", TOKEN)
    conf = daemon_config(sim, key, iw.tmpdir("state-"), [(1, "*")], interval="%ds" % interval,
                         fast_interval="%ds" % fast, top='stuck_after = "1h";\n')
    counters, window, changes, events = observe_changes(sim, conf, journal, start_at, duration, interval)
    sim.stop()
    if journal:
        journal.stop()

    samples = match(changes, events, lambda name: INITIAL[name[:6]])
    write_csv(ctx.csv("b3-latency.csv"), samples,
              ["seq", "name", "believed", "status", "kind", "change_us", "entry_us", "latency_s"])
    req_rate = counters["total"] / window
    period = n / req_rate
    figs = []
    stats = {"source": source, "deployments": n, "duration": duration, "rate": rate, "interval": interval,
             "fast_interval": fast, "requests": counters["total"], "requests_get": counters["by_endpoint"].get("get", 0),
             "requests_list": counters["by_endpoint"].get("list", 0), "window_s": window,
             "requests_per_s": req_rate, "naive_period_s": period}
    for kind, p50t, p95t in (("transitional", 1.5, 2.5), ("stable", None, None)):
        lat = [s["latency_s"] for s in samples if s["kind"] == kind and s["latency_s"] is not None]
        missed = sum(1 for s in samples if s["kind"] == kind and s["latency_s"] is None)
        stats[kind] = {"samples": len(lat), "overwritten": missed, "p50": percentile(lat, 50),
                       "p95": percentile(lat, 95), "max": max(lat) if lat else None}
        figs.append(Figure(BENCH, "%s: p50" % kind, percentile(lat, 50), "s", p50t, "<=" if p50t else None,
                           fmt="%.2f"))
        figs.append(Figure(BENCH, "%s: p95" % kind, percentile(lat, 95), "s", p95t, "<=" if p95t else None,
                           fmt="%.2f"))
        figs.append(Figure(BENCH, "%s: max" % kind, max(lat) if lat else None, "s",
                           interval if kind == "stable" else None, "<=" if kind == "stable" else None, fmt="%.2f"))
        figs.append(Figure(BENCH, "%s: changes detected / overwritten" % kind, len(lat), "", fmt="%d",
                           note="%d overwritten before any poll" % missed))
    figs.append(Figure(BENCH, "API requests per second (list + get-one)", req_rate, "/s", fmt="%.2f"))
    figs.append(Figure(BENCH, "same budget, fixed interval: period", period, "s", fmt="%.1f"))
    figs.append(Figure(BENCH, "same budget, fixed interval: p50 / p95", period / 2, "s", fmt="%.1f",
                       note="p95 %.1f s" % (0.95 * period)))
    progress("B3: transitional p50 %s s p95 %s s; stable p50 %s s p95 %s s; %.2f requests/s"
             % (stats["transitional"]["p50"], stats["transitional"]["p95"], stats["stable"]["p50"],
                stats["stable"]["p95"], req_rate))
    return {"name": BENCH, "figures": figs, "rows": samples, "stats": stats}
