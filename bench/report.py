"""Writes docs/benchmarks.md from the results of bench/run.py. The hand-written part (what was
optimised, what misses and why) is bench/notes.md, included as is."""

import os
import sys
import time

from benchlib import HERE, MODULES, md_table


def fmt(v, f="%.3g"):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f % v
    return str(v)


def method(key):
    doc = sys.modules[MODULES[key]].__doc__ or ""
    return " ".join(doc.split())


def b1(res):
    rows = [(r["peer"], r.get("scheme", "http"), r["cycles"], r["polls"], fmt(r["cpu_user_s"]), fmt(r["cpu_sys_s"]),
             fmt(r["cpu_per_poll_us"], "%.4g"), fmt(r["cpu_ratio"], "%.3g"),
             fmt(r.get("marginal_cpu_per_poll_us"), "%.4g"), fmt(r.get("instructions_per_poll"), "%.3g"),
             fmt(r.get("instruction_ratio"), "%.3g"), fmt(r.get("instruction_polls")), fmt(r.get("connections")))
            for r in res["rows"]]
    return ("%d deployments x %d cycles = %d polls per peer (2 regions per deployment, about 1.3 KB of "
            "JSON each); inferwatchd and the Python loops once more with %d cycles, whose difference gives the "
            "marginal cost of a poll, without the process's start and exit. The shell loop's callgrind run "
            "covers %d polls.\n\n"
            % (res["n"], res["k"], res["n"] * res["k"], res["k_long"], res["shell_callgrind_polls"]) +
            md_table(rows, ("peer", "scheme", "cycles", "polls", "user s", "sys s", "CPU per poll (µs)",
                            "ratio to inferwatchd", "marginal CPU per poll (µs)", "instructions per poll", "ratio",
                            "polls under callgrind", "connections opened")))


def b2(res):
    rows = []
    for r in res["rows"]:
        rows.append((r["case"], r["interval_s"], r["requests_per_cycle"], fmt(r["cycles"], "%.2g"),
                     fmt(r["wall_s"], "%.1f"), fmt(r["cpu_s"], "%.3f"), fmt(r["cpu_percent"], "%.3f"),
                     fmt(r["cpu_per_cycle_ms"], "%.0f"), fmt(r["projected_cpu_percent_at_30s"], "%.3f"),
                     fmt(r["startup_s"], "%.2f"), fmt(r["startup_cpu_s"], "%.2f"),
                     fmt(r["vmhwm_kib"] / 1024, "%.1f"), fmt(r["vmrss_kib"] / 1024, "%.1f"),
                     fmt(r["state_bytes"] / 1e6, "%.1f"),
                     fmt(r["restart_vmhwm_kib"] / 1024, "%.1f") if r.get("restart_vmhwm_kib") else ""))
    large = [r for r in res["rows"] if r["case"] == "list large"]
    return ("%d projects x %d deployments (2 regions each), page_size %d%s.\n\n"
            % (res["projects"], res["per_project"], res["page_size"],
               "; list large: %d projects x %d, page_size %d" % (res["projects"], large[0]["deployments"] //
                                                                 res["projects"], large[0]["page_size"])
               if large else "") +
            md_table(rows, ("case", "interval (s)", "requests per cycle", "cycles measured", "wall (s)", "CPU (s)",
                            "CPU % of a core", "CPU per cycle (ms)", "projected CPU % at 30 s", "startup (s)",
                            "startup CPU (s)", "VmHWM (MiB)", "VmRSS (MiB)", "state file (MB)",
                            "VmHWM restarted on that state (MiB)")))


def b3(res):
    s = res["stats"]
    rows = []
    for kind in ("transitional", "stable"):
        k = s[kind]
        rows.append((kind, k["samples"], k["overwritten"], fmt(k["p50"], "%.2f"), fmt(k["p95"], "%.2f"),
                     fmt(k["max"], "%.2f")))
    p = s["naive_period_s"]
    rows.append(("fixed interval, same budget (computed)", "", "", "%.2f" % (p / 2), "%.2f" % (0.95 * p), "%.2f" % p))
    return ("%d deployments, %g changes/s for %d s, interval %d s, fast_interval %d s; timestamps from the %s. "
            "Requests during the changes: %d (%d get-one, %d list) in %.0f s = %.2f/s, i.e. a fixed-interval "
            "poller with the same budget would poll each deployment every %.1f s.\n\n"
            % (s["deployments"], s["rate"], s["duration"], s["interval"], s["fast_interval"], s["source"],
               s["requests"], s["requests_get"], s["requests_list"], s["window_s"], s["requests_per_s"], p) +
            md_table(rows, ("deployments", "changes detected", "overwritten before a poll", "p50 (s)", "p95 (s)",
                            "max (s)")))


def b6(res):
    s = res["stats"]
    rows = [(p, s[p]["requests"], s[p]["get"], s[p]["list"], "%.0f" % s[p]["requests_per_hour"],
             "%.1f" % s[p]["per_deployment_per_hour"], s[p]["samples"], fmt(s[p]["p50"], "%.2f"),
             fmt(s[p]["p95"], "%.2f"), fmt(s[p]["max"], "%.2f")) for p in ("get-one", "list")]
    return ("%d deployments, %d named, %g changes/s among the named for %d s, interval %d s, fast_interval %d s; "
            "timestamps from the %s.\n\n" % (s["deployments"], s["named"], s["rate"], s["duration"], s["interval"],
                                             s["fast_interval"], s["source"]) +
            md_table(rows, ("plan", "requests", "get-one", "list", "per hour", "per deployment per hour",
                            "changes detected", "p50 (s)", "p95 (s)", "max (s)")))


def b7(res):
    if res.get("skipped"):
        return "Not measured in this run: %s.\n" % res["skipped"]
    rows = [(r["protocol"], r["server"], r["polls"], r["new_connections"], fmt(r["new_per_1000"], "%.2f"), r["open"],
             fmt(r["requests_per_connection"], "%.0f"), fmt(r["max_streams"]), fmt(r["cpu_per_poll_us"], "%.0f"),
             fmt(r["syscalls_per_poll"], "%.2f"), fmt(r["instructions_per_poll"], "%.0f")) for r in res["rows"]]
    h1, h2 = res["rows"]
    libs = sorted(set(h1["instructions_by_object"]) | set(h2["instructions_by_object"]),
                  key=lambda k: -max(h1["instructions_by_object"].get(k, 0), h2["instructions_by_object"].get(k, 0)))
    lib_rows = []
    for lib in libs:
        a, b = h1["instructions_by_object"].get(lib, 0), h2["instructions_by_object"].get(lib, 0)
        if max(a, b) >= 100:
            lib_rows.append((lib, "%.0f" % a, "%.0f" % b, "%+.0f" % (b - a)))
    calls = sorted(set(h1["syscalls_by_name"]) | set(h2["syscalls_by_name"]),
                   key=lambda k: -max(h1["syscalls_by_name"].get(k, 0), h2["syscalls_by_name"].get(k, 0)))
    call_rows = [(c, "%.2f" % h1["syscalls_by_name"].get(c, 0), "%.2f" % h2["syscalls_by_name"].get(c, 0),
                  "%+.2f" % (h2["syscalls_by_name"].get(c, 0) - h1["syscalls_by_name"].get(c, 0)))
                 for c in calls if max(h1["syscalls_by_name"].get(c, 0), h2["syscalls_by_name"].get(c, 0)) >= 0.01]
    di = h2["instructions_per_poll"] - h1["instructions_per_poll"]
    ds = h2["syscalls_per_poll"] - h1["syscalls_per_poll"]
    tls = sum(h2["instructions_by_object"].get(k, 0) - h1["instructions_by_object"].get(k, 0)
              for k in ("libssl", "libcrypto"))
    text = ("%d deployments at a 1 s interval; windows of %g s (connections and CPU: %g s). Over HTTP/2 the "
            "daemon's polls used %d connection%s (protocols negotiated: %s), up to %s requests in flight on "
            "one; over HTTP/1.1 it kept %d connections open, one request in flight on each at most. A poll cost "
            "%.0f instructions %s over HTTP/2 (%.2f x), of which libnghttp2 %.0f, libcurl %+.0f and TLS "
            "(libssl + libcrypto) %+.0f, and %.2f system calls %s (%.2f x).\n\n"
            % (res["n"], res["window"], 2 * res["window"], h2.get("connections_used", 0),
               "" if h2.get("connections_used") == 1 else "s",
               ", ".join(h2.get("protocols") or []), fmt(h2["max_streams"]), h1["open"], abs(di),
               "more" if di > 0 else "fewer", h2["instructions_per_poll"] / h1["instructions_per_poll"],
               h2["instructions_by_object"].get("libnghttp2", 0),
               h2["instructions_by_object"].get("libcurl", 0) - h1["instructions_by_object"].get("libcurl", 0), tls,
               abs(ds), "more" if ds > 0 else "fewer", h2["syscalls_per_poll"] / h1["syscalls_per_poll"]))
    return (text + md_table(rows, ("protocol", "server", "polls", "new connections", "per 1,000 polls",
                                   "connections open", "requests per connection", "most in flight on one",
                                   "CPU per poll (µs)", "system calls per poll", "instructions per poll")) +
            "\n\nInstructions per poll by library (callgrind, self cost):\n\n" +
            md_table(lib_rows, ("library", "HTTP/1.1", "HTTP/2", "difference")) +
            "\n\nSystem calls per poll (strace -c):\n\n" +
            md_table(call_rows, ("system call", "HTTP/1.1", "HTTP/2", "difference")))


def b4(res):
    r = res["rows"][0]
    rows = [(k.replace("_", " "), fmt(v, "%.4g")) for k, v in r.items()]
    return md_table(rows, ("figure", "value"))


def write(path, results, info, started, elapsed, ctx):
    out = []
    out.append("# Benchmarks\n")
    out.append("Generated by `make bench` (`bench/run.py`) on %s; every number below comes from that run. "
               "The CSV files of the run are in [`bench/results/`](../bench/results/). Targets: SPEC §9.\n"
               % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)))
    out.append("- Machine: %s, %d cores, %d MiB, %s, kernel %s" % (info["cpu"], info["cores"], info["memory_mib"],
                                                                   info["os"], info["kernel"]))
    out.append("- Command: `cd BUILD && make bench` (configure's default CFLAGS, `-O2 -g`)%s"
               % (" with --quick" if ctx.quick else ""))
    out.append("- Duration of the whole run: %.1f minutes\n" % (elapsed / 60))
    out.append("## Summary\n")
    rows = []
    for res in results:
        for f in res["figures"]:
            if f.target is not None:
                rows.append((f.bench.split()[0], f.name, f.value_text(), f.target_text(), f.verdict,
                             f.margin_text()))
    out.append(md_table(rows, ("", "figure", "value", "target", "verdict", "margin")) + "\n")
    render = {"B1": b1, "B2": b2, "B3": b3, "B4": b4, "B5": b4, "B6": b6, "B7": b7}
    for res in results:
        key = res["name"].split()[0]
        out.append("## %s\n" % res["name"])
        out.append(method(key) + "\n")
        out.append(render[key](res) + "\n")
        figs = [(f.name, f.value_text(), f.target_text(), f.verdict, f.note) for f in res["figures"]]
        out.append(md_table(figs, ("figure", "value", "target", "verdict", "note")) + "\n")
    notes = os.path.join(HERE, "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            out.append(f.read())
    with open(path, "w") as f:
        f.write("\n".join(out).rstrip() + "\n")
