"""B6, the request plan: a project of 50 deployments of which 20 are named in the configuration,
polled once by get-one per name (list_named_deployments = false, the plan before the list plan)
and once through the list endpoint (the default: one page of 100 serves all 20). The simulator
changes the status of random named deployments between ACTIVE and PENDING (both stable: no
fast polling follows), seeded the same in both runs; the detection latency of each change is
measured as in B3 (from the change at the simulator to the deployment.status_changed entry), and
the requests the simulator counted during the changes give the request rate. interval is
shortened to 20 s (fast_interval 2 s) so that a run gives samples in minutes; under the list plan
the cycle runs as often as the get-one budget allows, at most ten times per interval and never
more often than fast_interval (here every 2 s).
"""

from b3_latency import match, observe_changes
from benchlib import TOKEN, Figure, daemon_config, iw, percentile, progress, write_csv

BENCH = "B6 request plan"
PLANS = (("get-one", "list_named_deployments = false;"), ("list", "list_named_deployments = true;"))


def one_plan(ctx, plan, account_extra, named, others, duration, rate, interval, fast, journal):
    start_at = 8
    scenario = {
        "fleets": [{"project_id": 1, "prefix": "named-", "count": named, "status": "ACTIVE", "regions": [1], "ready": 1},
                   {"project_id": 1, "prefix": "other-", "count": others, "status": "ACTIVE", "regions": [1],
                    "ready": 1}],
        "random_changes": {"project_id": 1, "prefix": "named-", "rate": rate, "statuses": ["ACTIVE", "PENDING"],
                           "start": start_at, "stop": start_at + duration},
    }
    sim = iw.Sim(scenario, tokens=(TOKEN,), seed=11)
    key = iw.write_secret("api-key", TOKEN)
    names = ["named-%05d" % i for i in range(named)]
    conf = daemon_config(sim, key, iw.tmpdir("state-"), [(1, names)], interval="%ds" % interval,
                         fast_interval="%ds" % fast, account_extra=account_extra, top='stuck_after = "1h";\n')
    counters, window, changes, events = observe_changes(sim, conf, journal, start_at, duration, interval)
    sim.stop()
    samples = match(changes, events, lambda name: "ACTIVE")
    for s in samples:
        s["plan"] = plan
    lat = [s["latency_s"] for s in samples if s["latency_s"] is not None]
    per_hour = counters["total"] / window * 3600
    return samples, {"plan": plan, "requests": counters["total"], "get": counters["by_endpoint"].get("get", 0),
                     "list": counters["by_endpoint"].get("list", 0), "window_s": window,
                     "requests_per_hour": per_hour, "per_deployment_per_hour": per_hour / named,
                     "samples": len(lat), "overwritten": len(samples) - len(lat), "p50": percentile(lat, 50),
                     "p95": percentile(lat, 95), "max": max(lat) if lat else None}


def ratio(a, b):
    return a / b if a is not None and b else None


def run(ctx):
    named, others = ctx.param("b6_named", 20, 20), ctx.param("b6_others", 30, 30)
    duration = ctx.param("b6_seconds", 150, 30)
    rate = ctx.param("b6_rate", 0.2, 0.3)
    interval, fast = 20, 2
    source = "journal" if ctx.journal else "stderr"
    progress("B6: %d deployments, %d named, %g random changes/s among the named for %d s, interval %d s, "
             "fast_interval %d s, timestamps from the %s" % (named + others, named, rate, duration, interval, fast,
                                                             source))
    journal = iw.Journal() if ctx.journal else None
    rows, stats = [], {}
    try:
        for plan, extra in PLANS:
            samples, st = one_plan(ctx, plan, extra, named, others, duration, rate, interval, fast, journal)
            rows += samples
            stats[plan] = st
            progress("B6 %s plan: %.0f requests/hour, latency p50 %s s p95 %s s (%d changes)"
                     % (plan, st["requests_per_hour"], st["p50"], st["p95"], st["samples"]))
            if journal:  # the next run's entries alone
                journal.stop()
                journal = iw.Journal()
    finally:
        if journal:
            journal.stop()
    write_csv(ctx.csv("b6-plan.csv"), rows, ["plan", "seq", "name", "status", "change_us", "entry_us", "latency_s"])
    old, new = stats["get-one"], stats["list"]
    stats.update({"deployments": named + others, "named": named, "duration": duration, "rate": rate,
                  "interval": interval, "fast_interval": fast, "source": source})
    figs = []
    for plan in ("get-one", "list"):
        st = stats[plan]
        figs.append(Figure(BENCH, "%s plan: requests per hour" % plan, st["requests_per_hour"], "", fmt="%.0f",
                           note="%d get-one, %d list in %.0f s" % (st["get"], st["list"], st["window_s"])))
        figs.append(Figure(BENCH, "%s plan: requests per deployment per hour" % plan, st["per_deployment_per_hour"],
                           "", fmt="%.1f"))
        figs.append(Figure(BENCH, "%s plan: stable change detected, p50" % plan, st["p50"], "s", fmt="%.2f"))
        figs.append(Figure(BENCH, "%s plan: stable change detected, p95" % plan, st["p95"], "s", interval, "<=",
                           fmt="%.2f", note="%d changes" % st["samples"]))
    figs.append(Figure(BENCH, "list / get-one: requests", ratio(new["requests_per_hour"], old["requests_per_hour"]),
                       "×", 1.0, "<=", fmt="%.2f"))
    figs.append(Figure(BENCH, "get-one / list: latency p50", ratio(old["p50"], new["p50"]), "×", 1.0, ">=",
                       fmt="%.1f"))
    figs.append(Figure(BENCH, "get-one / list: latency p95", ratio(old["p95"], new["p95"]), "×", 1.0, ">=",
                       fmt="%.1f"))
    return {"name": BENCH, "figures": figs, "rows": rows, "stats": stats}
