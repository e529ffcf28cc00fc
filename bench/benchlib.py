"""Shared pieces of the benchmarks (docs/benchmarks.md): process accounting, the daemon's
configuration, figures with targets, CSV files. Python 3 standard library only.

CPU time always comes from the kernel's accounting of the measured process alone:
``/proc/PID/schedstat`` (nanoseconds on a CPU; ``/proc/PID/stat`` utime + stime where it is
missing) while it runs, and ``os.wait4`` (which includes the children
it reaped, e.g. the curl and jq of a shell loop) once it exited. The simulator's own CPU is never
counted: it is a separate process.
"""

import csv
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Each benchmark's driver module: bench/run.py runs them, bench/report.py quotes their docstrings.
MODULES = {"B1": "b1_poll_cost", "B2": "b2_scale", "B3": "b3_latency", "B4": "b4_webhooks", "B5": "b5_metrics",
           "B6": "b6_plan", "B7": "b7_h2"}
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))
import iw  # noqa: E402

TOKEN = "29841$c767-bench-secret-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def progress(text):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), text), flush=True)


# ---------------------------------------------------------------------------------------------
# Process accounting


def proc_cpu(pid):
    """CPU time of a running process so far, in seconds: the scheduler's nanosecond count of its
    time on a CPU (/proc/PID/schedstat, user + system), else utime + stime (clock ticks)."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid, key):
    """A "kB" line of /proc/PID/status (VmHWM, VmRSS) in KiB, or None."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


class Usage:
    """What os.wait4 said of a process that exited: cpu (user + sys, seconds, its reaped
    children included), maxrss (KiB), status."""

    def __init__(self, rusage, status):
        self.user = rusage.ru_utime
        self.sys = rusage.ru_stime
        self.cpu = rusage.ru_utime + rusage.ru_stime
        self.maxrss = rusage.ru_maxrss
        self.status = status


def wait_usage(proc, timeout=60.0):
    """Reaps a child with wait4 (so that its rusage is its own) and returns a Usage."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return Usage(ru, proc.returncode)
        if time.monotonic() > deadline:
            proc.kill()
            timeout = deadline = float("inf")
        time.sleep(0.01)


def stop_usage(proc, timeout=60.0):
    """SIGTERM, then wait_usage."""
    proc.send_signal(signal.SIGTERM)
    return wait_usage(proc, timeout)


def run_measured(args, env=None, stdout=subprocess.DEVNULL, timeout=900.0):
    """Runs a command to completion; returns (Usage, wall seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE, env=env)
    usage = wait_usage(proc, timeout)
    err = proc.stderr.read().decode(errors="replace")
    if usage.status != 0:
        raise RuntimeError("%s exited with %s: %s" % (args[0], usage.status, err[-2000:]))
    return usage, time.monotonic() - t0


# ---------------------------------------------------------------------------------------------
# The daemon


def daemon_config(sim, key_path, state_dir, projects, interval="60s", fast_interval="2s", account_extra="",
                  top=""):
    """libconfig text. projects: [(id, "*" or [names])]."""
    # The cost of a poll is measured without the polite ceiling, and named deployments by
    # get-one, unless a benchmark asks for the plan (B6).
    for key, value in (("max_requests_per_second", "0"), ("list_named_deployments", "false")):
        if key not in account_extra:
            account_extra += " %s = %s;" % (key, value)
    ps = []
    for pid, names in projects:
        if names == "*":
            ps.append('{ id = %d; deployments = "*"; }' % pid)
        else:
            ps.append("{ id = %d; deployments = [ %s ]; }" % (pid, ", ".join('"%s"' % n for n in names)))
    return ('interval = "%s";\nfast_interval = "%s";\nstate_directory = "%s";\n%s'
            'accounts = ( { url = "%s"; key_file = "%s"; %s } );\nprojects = (\n  %s\n);\n'
            % (interval, fast_interval, state_dir, top, sim.url, key_path, account_extra, ",\n  ".join(ps)))


def fleet_names(prefix, count, digits=5):
    return ["%s%0*d" % (prefix, digits, i) for i in range(count)]


class Sampler:
    """Samples a running process's CPU and the simulator's request counter."""

    def __init__(self, sim, pid):
        self.sim = sim
        self.pid = pid

    def sample(self):
        c = self.sim.counters()
        return {"t": time.monotonic(), "cpu": proc_cpu(self.pid), "requests": c["total"], "counters": c}


# ---------------------------------------------------------------------------------------------
# Figures, tables and CSV files


class Figure:
    """One line of the summary: a measured value, maybe a target, maybe a verdict.

    target_op is "<=" or ">=" (value compared with target), or None for a figure shown without
    a target."""

    def __init__(self, bench, name, value, unit, target=None, target_op=None, fmt="%.3g", note=""):
        self.bench = bench
        self.name = name
        self.value = value
        self.unit = unit
        self.target = target
        self.target_op = target_op
        self.fmt = fmt
        self.note = note

    @property
    def verdict(self):
        if self.target is None or self.value is None:
            return ""
        ok = self.value <= self.target if self.target_op == "<=" else self.value >= self.target
        return "PASS" if ok else "MISS"

    def value_text(self):
        if self.value is None:
            return "n/a"
        return (self.fmt % self.value) + (" " + self.unit if self.unit else "")

    def target_text(self):
        if self.target is None:
            return ""
        return "%s %s%s" % (self.target_op, self.fmt % self.target, (" " + self.unit) if self.unit else "")

    def margin_text(self):
        """How far from the target, as a factor: "2.1x better" / "1.4x over"."""
        if self.target is None or self.value in (None, 0) or self.target == 0:
            return ""
        if self.target_op == "<=":
            r = self.target / self.value
        else:
            r = self.value / self.target
        return ("%.2gx within" if r >= 1 else "%.2gx short") % (r if r >= 1 else 1 / r)


def write_csv(path, rows, columns=None):
    """rows: list of dicts; columns: their order (default: keys of the first row)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    columns = columns or list(rows[0].keys()) if rows else (columns or [])
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: _csv_value(r.get(k)) for k in columns})


def _csv_value(v):
    if isinstance(v, float):
        return "%.6g" % v
    return v


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a list; None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def text_table(rows, header):
    """A plain text table (list of tuples) with a header, columns padded."""
    rows = [tuple(str(c) for c in r) for r in [header] + rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(rows, header):
    def cell(c):
        return str(c).replace("|", "\\|")
    out = ["| " + " | ".join(cell(c) for c in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(cell(c) for c in r) + " |")
    return "\n".join(out)
