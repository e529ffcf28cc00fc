"""B2, scale: 10,000 deployments in 10 projects watched through the list endpoint (the default
page_size, 100), then 10,000 named deployments polled one by one.

The list case runs at shortened intervals (3 s and 10 s) and at the real 30 s. Each run waits for
the first cycle (the discovery of every deployment) and one more, then measures whole cycles: a
cycle ends when the simulator has counted every page of every project. CPU is the daemon's
time on a CPU (/proc/PID/schedstat) over those cycles; CPU % of one core = CPU / wall time. With a 30 s
interval the state file is rewritten once per cycle (its refresh period is max(interval, 10 s)),
as in the 10 s run, so the 10 s run's CPU per cycle divided by 30 s projects the 30 s figure; the
3 s run (a rewrite every ~3 cycles) shows how the cost per cycle scales. Peak RSS is VmHWM,
startup included; after the 10 s run the daemon is started again on its state file (10,000
deployments) and its VmHWM read after its first cycle.

The named case runs at a 10 s interval (1,000 get-one requests/s) and measures whole cycles after
the first (counted in requests); CPU per request x 10,000 / 30 s projects the 30 s figure.

The large case (issue 15's scale x10): 100,000 deployments in 10 projects of 10,000, page_size
1000, at the real 30 s interval: startup (the first cycle, every deployment discovered), whole
cycles after the second, VmHWM (startup included), then a restart on the state file it wrote
(startup to the end of the first cycle, and its VmHWM). It takes about three minutes:
BENCH_B2_LARGE=0 skips it (--quick does, and says so).
"""

import os
import time

from benchlib import (TOKEN, Figure, Sampler, daemon_config, fleet_names, iw, proc_status, progress, stop_usage,
                      write_csv)

BENCH = "B2 scale"
PROJECTS = 10
PER_PROJECT = 1000
PAGE_SIZE = 100
LARGE_PAGE_SIZE = 1000


def wait_lists(sim, d, count, timeout):
    """Waits until the simulator counted `count` list requests; returns a sample at that moment."""
    s = Sampler(sim, d.pid)

    def reached():
        if d.returncode is not None:
            raise RuntimeError("inferwatchd exited: " + d.stderr()[-2000:])
        x = s.sample()
        return x if x["counters"]["by_endpoint"].get("list", 0) >= count else None
    return iw.wait_until(reached, timeout, "%d list requests" % count, interval=0.05)


def list_run(sim, key, interval, cycles, restart=False, projects=None, per_project=None, page_size=None):
    projects, per_project, page_size = projects or PROJECTS, per_project or PER_PROJECT, page_size or PAGE_SIZE
    pages = projects * ((per_project + page_size - 1) // page_size)
    state = iw.tmpdir("state-")
    conf = daemon_config(sim, key, state, [(p, "*") for p in range(1, projects + 1)], interval="%ds" % interval,
                         account_extra="page_size = %d;" % page_size)
    sim.reset_counters()
    t_start = time.monotonic()
    d = iw.Daemon(conf, args=["--log-target=stderr", "--log-level=notice"])
    first = wait_lists(sim, d, pages, 300)
    startup_s = first["t"] - t_start
    startup_cpu = first["cpu"]
    # One more cycle, so that the startup burst (every discovery) is behind.
    begin = wait_lists(sim, d, 2 * pages, interval * 2 + 120)
    end = wait_lists(sim, d, (2 + cycles) * pages, interval * (cycles + 1) * 1.3 + 120)
    hwm, rss = proc_status(d.pid, "VmHWM"), proc_status(d.pid, "VmRSS")
    state_size = os.path.getsize(os.path.join(state, "state.json"))
    stop_usage(d.proc)
    cpu = end["cpu"] - begin["cpu"]
    wall = end["t"] - begin["t"]
    restart_hwm = restart_cpu = restart_s = None
    if restart:
        # The same daemon started again: it reads every deployment of its state file first.
        sim.reset_counters()
        t_start = time.monotonic()
        d = iw.Daemon(conf, args=["--log-target=stderr", "--log-level=notice"])
        x = wait_lists(sim, d, pages, 300)
        restart_hwm, restart_cpu, restart_s = proc_status(d.pid, "VmHWM"), x["cpu"], x["t"] - t_start
        stop_usage(d.proc)
    return {"case": "list", "restart_vmhwm_kib": restart_hwm, "restart_cpu_s": restart_cpu,
            "restart_s": restart_s, "deployments": projects * per_project, "interval_s": interval,
            "page_size": page_size, "requests_per_cycle": pages, "cycles": cycles, "wall_s": wall, "cpu_s": cpu,
            "cpu_percent": 100 * cpu / wall, "cpu_per_cycle_ms": 1000 * cpu / cycles,
            "projected_cpu_percent_at_30s": 100 * (cpu / cycles) / 30,
            "startup_s": startup_s, "startup_cpu_s": startup_cpu,
            "vmhwm_kib": hwm, "vmrss_kib": rss, "state_bytes": state_size}


def large_run(key, per_project, cycles):
    """Issue 15's scale x10: 10 projects x per_project, page_size 1000, interval 30 s."""
    fleets = [{"project_id": p, "prefix": "dep-", "count": per_project, "status": "ACTIVE", "regions": [1, 7],
               "ready": 2} for p in range(1, PROJECTS + 1)]
    sim = iw.Sim({"fleets": fleets}, tokens=(TOKEN,))
    try:
        r = list_run(sim, key, 30, cycles, restart=True, per_project=per_project, page_size=LARGE_PAGE_SIZE)
    finally:
        sim.stop()
    r["case"] = "list large"
    return r


def named_run(sim, key, interval, cycles):
    n = PROJECTS * PER_PROJECT
    state = iw.tmpdir("state-")
    projects = [(p, fleet_names("dep-", PER_PROJECT)) for p in range(1, PROJECTS + 1)]
    conf = daemon_config(sim, key, state, projects, interval="%ds" % interval)
    sim.reset_counters()
    t_start = time.monotonic()
    d = iw.Daemon(conf, args=["--log-target=stderr", "--log-level=notice"])
    s = Sampler(sim, d.pid)

    def polled(count):
        def f():
            if d.returncode is not None:
                raise RuntimeError("inferwatchd exited: " + d.stderr()[-2000:])
            x = s.sample()
            return x if x["requests"] >= count else None
        return f
    first = iw.wait_until(polled(n), 300, "the first poll of %d named deployments" % n, interval=0.05)
    startup_s, startup_cpu = first["t"] - t_start, first["cpu"]
    # Whole cycles after the first: from the 2nd poll of every deployment to the (2 + cycles)th.
    begin = iw.wait_until(polled(2 * n), interval * 3 + 60, "a second cycle", interval=0.05)
    end = iw.wait_until(polled((2 + cycles) * n), interval * (cycles + 1) * 1.3 + 60, "more cycles", interval=0.05)
    hwm, rss = proc_status(d.pid, "VmHWM"), proc_status(d.pid, "VmRSS")
    state_size = os.path.getsize(os.path.join(state, "state.json"))
    stop_usage(d.proc)
    cpu, wall, reqs = end["cpu"] - begin["cpu"], end["t"] - begin["t"], end["requests"] - begin["requests"]
    per_request = cpu / reqs
    return {"case": "named", "deployments": n, "interval_s": interval, "requests_per_cycle": n,
            "cycles": reqs / n, "wall_s": wall, "cpu_s": cpu, "cpu_percent": 100 * cpu / wall,
            "cpu_per_cycle_ms": 1000 * per_request * n, "cpu_per_request_us": 1e6 * per_request,
            "projected_cpu_percent_at_30s": 100 * per_request * n / 30,
            "startup_s": startup_s, "startup_cpu_s": startup_cpu,
            "vmhwm_kib": hwm, "vmrss_kib": rss, "state_bytes": state_size}


def run(ctx):
    global PER_PROJECT
    PER_PROJECT = ctx.param("b2_per_project", 1000, 200)
    list_runs = [(3, ctx.param("b2_cycles_3s", 6, 2)), (10, ctx.param("b2_cycles_10s", 3, 1))]
    real = ctx.param("b2_cycles_30s", 3, 0)
    if real:
        list_runs.append((30, real))
    named_interval, named_cycles = 10, ctx.param("b2_named_cycles", 2, 1)
    fleets = [{"project_id": p, "prefix": "dep-", "count": PER_PROJECT, "status": "ACTIVE", "regions": [1, 7],
               "ready": 2} for p in range(1, PROJECTS + 1)]
    sim = iw.Sim({"fleets": fleets}, tokens=(TOKEN,))
    key = iw.write_secret("api-key", TOKEN)
    rows = []
    for interval, cycles in list_runs:
        progress("B2: %d deployments in %d projects, list, interval %d s, %d cycles measured"
                 % (PROJECTS * PER_PROJECT, PROJECTS, interval, cycles))
        rows.append(list_run(sim, key, interval, cycles, restart=interval == 10))
        r = rows[-1]
        progress("B2:   %.2f %% of a core, %.0f ms per cycle, VmHWM %d KiB"
                 % (r["cpu_percent"], r["cpu_per_cycle_ms"], r["vmhwm_kib"]))
    large = ctx.param("b2_large", 1, 0)
    large_per_project, large_cycles = ctx.param("b2_large_per_project", 10000, 10000), ctx.param("b2_large_cycles", 2, 1)
    progress("B2: %d named deployments, get-one, interval %d s, %d cycles measured"
             % (PROJECTS * PER_PROJECT, named_interval, named_cycles))
    rows.append(named_run(sim, key, named_interval, named_cycles))
    r = rows[-1]
    progress("B2:   %.2f %% of a core, %.1f µs per request, VmHWM %d KiB"
             % (r["cpu_percent"], r["cpu_per_request_us"], r["vmhwm_kib"]))
    sim.stop()
    if large:
        progress("B2: %d deployments in %d projects, list (page_size %d), interval 30 s, %d cycles measured, "
                 "then a restart on its state (about 3 minutes; BENCH_B2_LARGE=0 skips it)"
                 % (PROJECTS * large_per_project, PROJECTS, LARGE_PAGE_SIZE, large_cycles))
        rows.append(large_run(key, large_per_project, large_cycles))
        r = rows[-1]
        progress("B2:   %.2f %% of a core, VmHWM %d KiB, startup %.1f s, restarted %.1f s (VmHWM %d KiB)"
                 % (r["cpu_percent"], r["vmhwm_kib"], r["startup_s"], r["restart_s"], r["restart_vmhwm_kib"]))
    else:
        progress("B2: the 100,000-deployment case is SKIPPED (--quick or BENCH_B2_LARGE=0; it takes about 3 minutes)")
    write_csv(ctx.csv("b2-scale.csv"), rows,
              ["case", "deployments", "interval_s", "page_size", "requests_per_cycle", "cycles", "wall_s", "cpu_s",
               "cpu_percent", "cpu_per_cycle_ms", "cpu_per_request_us", "projected_cpu_percent_at_30s", "startup_s",
               "startup_cpu_s", "vmhwm_kib", "vmrss_kib", "state_bytes", "restart_vmhwm_kib", "restart_cpu_s",
               "restart_s"])

    lists = [r for r in rows if r["case"] == "list"]
    by = {r["interval_s"]: r for r in lists}
    named = [r for r in rows if r["case"] == "named"][0]
    big = [r for r in rows if r["case"] == "list large"]
    figs = []
    for r in lists:
        figs.append(Figure(BENCH, "list, interval %d s: CPU per cycle" % r["interval_s"], r["cpu_per_cycle_ms"], "ms"))
    for r in lists:
        if r["interval_s"] != 30:
            figs.append(Figure(BENCH, "list, interval %d s: CPU" % r["interval_s"], r["cpu_percent"], "%"))
    figs.append(Figure(BENCH, "list, 30 s projected from the 10 s run: CPU", by[10]["projected_cpu_percent_at_30s"],
                       "%", 1.0, "<="))
    if 30 in by:
        figs.append(Figure(BENCH, "list, interval 30 s (measured): CPU", by[30]["cpu_percent"], "%", 1.0, "<="))
    figs.append(Figure(BENCH, "list: peak RSS (VmHWM, worst run)", max(r["vmhwm_kib"] for r in lists) / 1024, "MiB",
                       32, "<=", fmt="%.1f"))
    figs.append(Figure(BENCH, "list, restarted on its %d-deployment state: peak RSS" % (PROJECTS * PER_PROJECT),
                       by[10]["restart_vmhwm_kib"] / 1024, "MiB", 32, "<=", fmt="%.1f"))
    figs.append(Figure(BENCH, "list: startup (first cycle, all discovered)", lists[0]["startup_s"], "s", fmt="%.2f"))
    figs.append(Figure(BENCH, "named get-one: CPU per request", named["cpu_per_request_us"], "µs"))
    figs.append(Figure(BENCH, "named get-one, 30 s projected: CPU", named["projected_cpu_percent_at_30s"], "%"))
    figs.append(Figure(BENCH, "named get-one: peak RSS (VmHWM)", named["vmhwm_kib"] / 1024, "MiB", fmt="%.1f"))
    figs.append(Figure(BENCH, "named get-one: startup (first poll of all)", named["startup_s"], "s", fmt="%.2f"))
    if big:
        b, n = big[0], big[0]["deployments"]
        figs.append(Figure(BENCH, "%d deployments, list, 30 s (measured): CPU" % n, b["cpu_percent"], "%", 1.0, "<="))
        figs.append(Figure(BENCH, "%d deployments: peak RSS (VmHWM, startup included)" % n, b["vmhwm_kib"] / 1024,
                           "MiB", 64, "<=", fmt="%.1f"))
        figs.append(Figure(BENCH, "%d deployments: startup (first cycle, all discovered)" % n, b["startup_s"], "s",
                           fmt="%.1f", note="%.1f s of CPU" % b["startup_cpu_s"]))
        figs.append(Figure(BENCH, "%d deployments: restart on its state (first cycle)" % n, b["restart_s"], "s",
                           fmt="%.1f", note="%.1f s of CPU, state file %.0f MB" % (b["restart_cpu_s"],
                                                                                   b["state_bytes"] / 1e6)))
        figs.append(Figure(BENCH, "%d deployments, restarted: peak RSS (VmHWM)" % n, b["restart_vmhwm_kib"] / 1024,
                           "MiB", 64, "<=", fmt="%.1f"))
    else:
        figs.append(Figure(BENCH, "100000 deployments (issue 15)", None, "", note="skipped: BENCH_B2_LARGE=0 or --quick"))
    return {"name": BENCH, "figures": figs, "rows": rows, "projects": PROJECTS, "per_project": PER_PROJECT,
            "page_size": PAGE_SIZE, "named_interval": named_interval}
