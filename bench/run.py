"""`make bench`: runs the benchmarks B1 to B4, writes one CSV per benchmark under bench/results/,
the report docs/benchmarks.md, and prints a summary table of every figure with its target.

    python3 bench/run.py [--quick] [--only B1,B3] [--results DIR] [--report FILE] [--no-report]
    python3 bench/run.py --render-only     # the report again from DIR/run.json (after editing notes)

Run by `make bench` with top_srcdir and top_builddir exported (an out-of-tree build); without
them, the checkout this file is in. --quick shrinks every benchmark (a smoke test of the
drivers, not figures to report). Sizes can be overridden one by one with BENCH_<PARAM>=value
(e.g. BENCH_B1_N=200), see each benchmark's module.

Needs root for B3's private journald (an unshared mount namespace, as the tests do); without
it B3 takes its timestamps from the daemon's JSON log lines on stderr instead.
"""

import argparse
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchlib  # noqa: E402
from benchlib import iw, progress, text_table  # noqa: E402

BENCHMARKS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7"]
MODULES = benchlib.MODULES


class Context:
    def __init__(self, args):
        self.quick = args.quick
        self.results = args.results
        self.journal = os.environ.get("IW_PRIVATE_NS") == "1"

    def param(self, name, full, quick):
        """A size: BENCH_<NAME> from the environment, else the quick or the full default."""
        v = os.environ.get("BENCH_" + name.upper())
        if v is not None:
            return type(full)(v)
        return quick if self.quick else full

    def csv(self, name):
        return os.path.join(self.results, name)


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    osname = "unknown"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    return {"cpu": model, "cores": os.cpu_count(), "memory_mib": mem, "kernel": platform.release(), "os": osname}


def summary_rows(results):
    rows = []
    for res in results:
        for f in res["figures"]:
            rows.append((f.bench.split()[0], f.name, f.value_text(), f.target_text(), f.verdict))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: check the drivers, not a report")
    ap.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset, e.g. B1,B3")
    ap.add_argument("--results", default=iw.srcdir("bench", "results"), help="where the CSV files go")
    ap.add_argument("--report", default=iw.srcdir("docs", "benchmarks.md"), help="the Markdown report")
    ap.add_argument("--no-report", action="store_true", help="do not write the report")
    ap.add_argument("--render-only", action="store_true", help="rewrite the report from the last run.json")
    args = ap.parse_args()
    if args.render_only:
        import report
        with open(os.path.join(args.results, "run.json")) as f:
            saved = json.load(f)
        for res in saved["results"]:
            res["figures"] = [benchlib.Figure(**f) for f in res["figures"]]
        for name in saved["modules"]:
            __import__(name)
        report.write(args.report, saved["results"], saved["machine"], saved["started"], saved["elapsed"],
                     argparse.Namespace(quick=saved["quick"]))
        progress("report written to %s" % args.report)
        return
    selected = [b.strip().upper() for b in args.only.split(",") if b.strip()]

    # B3 and B6 read the journal of a private journald: re-run inside a private mount namespace.
    if ("B3" in selected or "B6" in selected) and os.environ.get("IW_PRIVATE_NS") != "1" and os.geteuid() == 0:
        reason = iw._namespace_unavailable()
        if reason is None:
            os.environ["IW_PRIVATE_NS"] = "1"
            sys.stdout.flush()
            os.execvp("unshare", ["unshare", "-m", "--propagation", "private", sys.executable] + sys.argv)
        progress("no private journald (%s): B3 and B6 use the daemon's stderr timestamps" % reason)

    ctx = Context(args)
    started = time.time()
    t0 = time.monotonic()
    info = machine()
    progress("inferwatch benchmarks%s: %s, %d cores, kernel %s" % (" (quick)" if ctx.quick else "", info["cpu"],
                                                                     info["cores"], info["kernel"]))
    results = []
    for name in selected:
        mod = MODULES[name]
        tb = time.monotonic()
        res = __import__(mod).run(ctx)
        res["seconds"] = time.monotonic() - tb
        results.append(res)
        progress("%s done in %.0f s" % (name, res["seconds"]))
    elapsed = time.monotonic() - t0

    print()
    print("Summary (%s, %.0f s)" % (time.strftime("%Y-%m-%d %H:%M"), elapsed))
    print(text_table(summary_rows(results), ("bench", "figure", "value", "target", "verdict")))
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "run.json"), "w") as f:
        json.dump({"machine": info, "started": started, "elapsed": elapsed, "quick": ctx.quick,
                   "modules": [MODULES[r["name"].split()[0]] for r in results],
                   "results": [dict(r, figures=[vars(f) for f in r["figures"]]) for r in results]},
                  f, indent=1, default=str)
    if not args.no_report:
        import report
        report.write(args.report, results, info, started, elapsed, ctx)
        progress("report written to %s, CSV files in %s" % (args.report, args.results))


if __name__ == "__main__":
    main()
