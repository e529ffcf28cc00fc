"""B1, cost per poll: the same N deployments x K cycles of get-one polls against the simulator by
(a) inferwatchd, (b) a curl | jq shell loop, (c) a Python urllib + json loop (and, without a
target, the same Python loop with a kept-alive http.client connection).

CPU: user + sys of each peer from wait4 (the shell's curl and jq processes included, the
simulator excluded), divided by the polls the simulator counted. Instructions: `perf stat` does
not count on this machine, so callgrind (every instruction of the process, shared libraries
included) on inferwatchd and on python3 for the same N x K, and on the shell loop with its
children for a few polls only (valgrind makes each process start take about a second).

The same over HTTPS: the simulator serves TLS with a certificate of a CA made at run time, which
inferwatchd trusts through ca_file and the peers through their own options (curl --cacert, an
ssl context for urllib and for the kept-alive http.client.HTTPSConnection).

Steady state (bench/steady.py): inferwatchd watching 200 named deployments at a 1 s interval;
after a warm-up of 3 polls each, callgrind's counters are zeroed and dumped after a window
(instructions per poll, start-up excluded), `strace -c -f` is attached for a window (system
calls per poll), and over HTTPS the simulator counts the connections that carried requests
(new TCP+TLS connections per 1,000 polls). Instruction and system call counts, unlike CPU
times, do not move with the load of this shared machine.
"""

import glob
import os
import subprocess
import sys

import steady
from benchlib import (TOKEN, Figure, daemon_config, fleet_names, iw, progress, run_measured, stop_usage,
                      write_csv)

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers")
BENCH = "B1 cost per poll"


def callgrind_total(pattern):
    """Sum of the instruction totals of the callgrind files matching pattern."""
    total = 0
    for path in glob.glob(pattern):
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("totals:") or line.startswith("summary:"):
                    total += int(line.split()[1])
                    break
    return total


def run_daemon(ctx, sim, key, names, polls, wrapper=()):
    """inferwatchd watching the named deployments at a 1 s interval until the simulator counted
    `polls` requests; returns (Usage, polls counted)."""
    ca = 'ca_file = "%s";' % sim.ca_file if sim.ca_file else ""
    conf = daemon_config(sim, key, iw.tmpdir("state-"), [(1, names)], interval="1s", fast_interval="1s",
                         account_extra='timeout = "10s"; ' + ca)
    sim.reset_counters()
    d = iw.Daemon(conf, args=["--log-target=stderr"], wrapper=wrapper)
    iw.wait_until(lambda: d.returncode is not None or sim.counters()["total"] >= polls,
                  timeout=120 + polls / 20, what="%d polls by inferwatchd" % polls, interval=0.02)
    if d.returncode is not None:
        raise RuntimeError("inferwatchd exited: " + d.stderr()[-2000:])
    usage = stop_usage(d.proc)
    return usage, sim.counters()["total"]


def run_loop(sim, args):
    """A loop peer to completion; returns (Usage, wall, polls counted)."""
    sim.reset_counters()
    usage, wall = run_measured(args)
    return usage, wall, sim.counters()["total"]


def run(ctx):
    n, k = ctx.param("b1_n", 100, 20), ctx.param("b1_k", 5, 2)
    k_long = ctx.param("b1_k_long", 20, 4)
    shell_cg_polls = ctx.param("b1_shell_callgrind_polls", 10, 3)
    progress("B1: %d deployments x %d cycles of get-one polls" % (n, k))
    sim = iw.Sim({"fleets": [{"project_id": 1, "prefix": "bench-", "count": n, "regions": [1, 7], "ready": 2}]},
                 tokens=(TOKEN,))
    key = iw.write_secret("api-key", TOKEN)
    names = fleet_names("bench-", n)
    names_file = os.path.join(iw.tmpdir("b1-"), "names")
    with open(names_file, "w") as f:
        f.write("\n".join(names) + "\n")
    shell = ["sh", os.path.join(PEERS, "poll-curl-jq.sh"), sim.url, "1", key, names_file]
    python = [sys.executable, os.path.join(PEERS, "poll-urllib.py"), sim.url, "1", key, names_file]

    rows = []

    def add(peer, usage, polls, wall=None, instructions=None, instr_polls=None, cycles=k):
        rows.append({"peer": peer, "deployments": n, "cycles": cycles, "polls": polls, "cpu_user_s": usage.user,
                     "cpu_sys_s": usage.sys, "cpu_s": usage.cpu, "cpu_per_poll_us": 1e6 * usage.cpu / polls,
                     "wall_s": wall, "instructions": instructions,
                     "instruction_polls": instr_polls,
                     "instructions_per_poll": instructions / instr_polls if instructions else None})

    progress("B1 (a) inferwatchd")
    u, polls = run_daemon(ctx, sim, key, names, n * k)
    add("inferwatchd", u, polls)
    progress("B1 (b) curl | jq shell loop")
    u, wall, polls = run_loop(sim, shell + [str(k)])
    add("curl-jq-sh", u, polls, wall)
    progress("B1 (c) python3 urllib loop")
    u, wall, polls = run_loop(sim, python + [str(k)])
    add("python-urllib", u, polls, wall)
    u, wall, polls = run_loop(sim, python + [str(k), "--keep-alive"])
    add("python-keepalive", u, polls, wall)

    # The same with more cycles: the difference is the cost of a poll without the process's
    # start and stop (which the shell loop pays at every poll anyway).
    progress("B1: inferwatchd and the Python loops again with %d cycles, for the marginal cost" % k_long)
    u, polls = run_daemon(ctx, sim, key, names, n * k_long)
    add("inferwatchd", u, polls, cycles=k_long)
    u, wall, polls = run_loop(sim, python + [str(k_long)])
    add("python-urllib", u, polls, wall, cycles=k_long)
    u, wall, polls = run_loop(sim, python + [str(k_long), "--keep-alive"])
    add("python-keepalive", u, polls, wall, cycles=k_long)
    marginal = {}
    for peer in ("inferwatchd", "python-urllib", "python-keepalive"):
        short, long_ = [r for r in rows if r["peer"] == peer]
        marginal[peer] = 1e6 * (long_["cpu_s"] - short["cpu_s"]) / (long_["polls"] - short["polls"])
        long_["marginal_cpu_per_poll_us"] = short["marginal_cpu_per_poll_us"] = marginal[peer]
    shell_row = rows[1]
    shell_row["marginal_cpu_per_poll_us"] = marginal["curl-jq-sh"] = shell_row["cpu_per_poll_us"]

    # Instruction counts under callgrind.
    cg = iw.tmpdir("callgrind-")
    vg = ["valgrind", "--tool=callgrind", "--quiet"]
    progress("B1 callgrind: inferwatchd, %d polls" % (n * k))
    out = os.path.join(cg, "daemon.out")
    _, polls = run_daemon(ctx, sim, key, names, n * k, wrapper=vg + ["--callgrind-out-file=" + out])
    rows[0]["instructions"], rows[0]["instruction_polls"] = callgrind_total(out), polls
    progress("B1 callgrind: python3 urllib, %d polls" % (n * k))
    out = os.path.join(cg, "python.out")
    _, _, polls = run_loop(sim, vg + ["--callgrind-out-file=" + out] + python + [str(k)])
    rows[2]["instructions"], rows[2]["instruction_polls"] = callgrind_total(out), polls
    progress("B1 callgrind: curl | jq loop with its children, %d polls" % shell_cg_polls)
    few = os.path.join(cg, "names-few")
    with open(few, "w") as f:
        f.write("\n".join(names[:shell_cg_polls]) + "\n")
    _, _, polls = run_loop(sim, vg + ["--trace-children=yes", "--callgrind-out-file=" + os.path.join(cg, "sh.%p")]
                           + shell[:-1] + [few, "1"])
    rows[1]["instructions"], rows[1]["instruction_polls"] = callgrind_total(os.path.join(cg, "sh.*")), polls
    for r in rows:
        if r["instructions"]:
            r["instructions_per_poll"] = r["instructions"] / r["instruction_polls"]
    sim.stop()
    for r in rows:
        r["scheme"] = "http"

    # HTTPS: the same peers against a TLS simulator.
    progress("B1 over HTTPS: inferwatchd and the peers, %d polls each" % (n * k))
    tls = iw.Sim({"fleets": [{"project_id": 1, "prefix": "bench-", "count": n, "regions": [1, 7], "ready": 2}]},
                 tokens=(TOKEN,), tls=True)
    tls_rows = []

    def add_tls(peer, usage, polls, wall=None):
        add(peer, usage, polls, wall)
        rows[-1]["scheme"] = "https"
        rows[-1]["connections"] = tls.counters()["connections"]
        tls_rows.append(rows[-1])

    u, polls = run_daemon(ctx, tls, key, names, n * k)
    add_tls("inferwatchd", u, polls)
    u, wall, polls = run_loop(tls, shell[:1] + [shell[1], tls.url] + shell[3:] + [str(k), tls.ca_file])
    add_tls("curl-jq-sh", u, polls, wall)
    py = [python[0], python[1], tls.url] + python[3:]
    u, wall, polls = run_loop(tls, py + [str(k), "--ca-file=" + tls.ca_file])
    add_tls("python-urllib", u, polls, wall)
    u, wall, polls = run_loop(tls, py + [str(k), "--keep-alive", "--ca-file=" + tls.ca_file])
    add_tls("python-keepalive", u, polls, wall)
    tls.stop()

    # Steady state: instructions and system calls per poll, connections over HTTPS.
    sn, window = ctx.param("b1_steady_n", 200, 50), ctx.param("b1_steady_window", 15, 5)
    progress("B1 steady state: %d deployments at 1 s, windows of %g s (callgrind, strace, HTTPS connections)"
             % (sn, window))
    st = {}
    st["instructions"], st["instruction_polls"], _ = steady.instructions(sn, window)
    st["instructions_https"], st["instruction_polls_https"], _ = steady.instructions(sn, window, tls=True)
    st["syscalls"], st["syscalls_by_name"], st["syscall_polls"] = steady.syscalls(sn, window)
    st["syscalls_https"], st["syscalls_by_name_https"], st["syscall_polls_https"] = steady.syscalls(sn, window,
                                                                                                   tls=True)
    st["connections_per_1000"], st["connection_polls"] = steady.connections(sn, 2 * window)

    base = rows[0]
    for r in rows:
        same = [b for b in rows if b["peer"] == "inferwatchd" and b["cycles"] == r["cycles"]
                and b["scheme"] == r["scheme"]][0]
        r["cpu_ratio"] = r["cpu_per_poll_us"] / same["cpu_per_poll_us"]
        if r["instructions_per_poll"] and base["instructions_per_poll"]:
            r["instruction_ratio"] = r["instructions_per_poll"] / base["instructions_per_poll"]
    write_csv(ctx.csv("b1-poll-cost.csv"), rows,
              ["peer", "scheme", "deployments", "cycles", "polls", "cpu_user_s", "cpu_sys_s", "cpu_s", "cpu_per_poll_us", "cpu_ratio",
               "marginal_cpu_per_poll_us", "wall_s", "instruction_polls", "instructions", "instructions_per_poll",
               "instruction_ratio", "connections"])
    by = {r["peer"]: r for r in rows if r["cycles"] == k and r["scheme"] == "http"}
    tby = {r["peer"]: r for r in tls_rows}
    figs = [
        Figure(BENCH, "inferwatchd CPU per poll", by["inferwatchd"]["cpu_per_poll_us"], "µs"),
        Figure(BENCH, "curl | jq CPU per poll", by["curl-jq-sh"]["cpu_per_poll_us"], "µs"),
        Figure(BENCH, "Python urllib CPU per poll", by["python-urllib"]["cpu_per_poll_us"], "µs"),
        Figure(BENCH, "Python keep-alive CPU per poll", by["python-keepalive"]["cpu_per_poll_us"], "µs"),
        Figure(BENCH, "CPU ratio curl | jq / inferwatchd", by["curl-jq-sh"]["cpu_ratio"], "x", 50, ">="),
        Figure(BENCH, "CPU ratio Python urllib / inferwatchd", by["python-urllib"]["cpu_ratio"], "x", 10, ">="),
        Figure(BENCH, "CPU ratio Python keep-alive / inferwatchd", by["python-keepalive"]["cpu_ratio"], "x", 5, ">="),
        Figure(BENCH, "marginal CPU per poll (start excluded): inferwatchd", marginal["inferwatchd"], "µs"),
        Figure(BENCH, "marginal CPU per poll: Python urllib", marginal["python-urllib"], "µs"),
        Figure(BENCH, "marginal CPU ratio curl | jq / inferwatchd", marginal["curl-jq-sh"] / marginal["inferwatchd"],
               "x"),
        Figure(BENCH, "marginal CPU ratio Python urllib / inferwatchd",
               marginal["python-urllib"] / marginal["inferwatchd"], "x"),
        Figure(BENCH, "inferwatchd instructions per poll", by["inferwatchd"]["instructions_per_poll"], "", fmt="%.3g"),
        Figure(BENCH, "curl | jq instructions per poll", by["curl-jq-sh"]["instructions_per_poll"], "", fmt="%.3g"),
        Figure(BENCH, "Python urllib instructions per poll", by["python-urllib"]["instructions_per_poll"], "",
               fmt="%.3g"),
        Figure(BENCH, "instruction ratio curl | jq / inferwatchd", by["curl-jq-sh"].get("instruction_ratio"), "x"),
        Figure(BENCH, "instruction ratio Python urllib / inferwatchd", by["python-urllib"].get("instruction_ratio"),
               "x"),
        Figure(BENCH, "steady state: instructions per poll", st["instructions"], "", 50000, "<=", fmt="%.0f",
               note="callgrind, %d polls" % st["instruction_polls"]),
        Figure(BENCH, "steady state: system calls per poll", st["syscalls"], "", 5, "<=",
               note="strace -c, %d polls: %s" % (st["syscall_polls"], ", ".join(
                   "%s %.2f" % kv for kv in list(st["syscalls_by_name"].items())[:6]))),
        Figure(BENCH, "HTTPS: inferwatchd CPU per poll", tby["inferwatchd"]["cpu_per_poll_us"], "µs"),
        Figure(BENCH, "HTTPS: curl | jq CPU per poll", tby["curl-jq-sh"]["cpu_per_poll_us"], "µs"),
        Figure(BENCH, "HTTPS: Python urllib CPU per poll", tby["python-urllib"]["cpu_per_poll_us"], "µs"),
        Figure(BENCH, "HTTPS: Python keep-alive CPU per poll", tby["python-keepalive"]["cpu_per_poll_us"], "µs"),
        Figure(BENCH, "HTTPS: CPU ratio Python keep-alive / inferwatchd", tby["python-keepalive"]["cpu_ratio"], "x",
               5, ">="),
        Figure(BENCH, "HTTPS: CPU ratio Python urllib / inferwatchd", tby["python-urllib"]["cpu_ratio"], "x"),
        Figure(BENCH, "HTTPS: CPU ratio curl | jq / inferwatchd", tby["curl-jq-sh"]["cpu_ratio"], "x"),
        Figure(BENCH, "HTTPS: new connections per 1,000 polls (whole run, start-up included)",
               1000.0 * tby["inferwatchd"]["connections"] / tby["inferwatchd"]["polls"], ""),
        Figure(BENCH, "HTTPS steady state: new connections per 1,000 polls", st["connections_per_1000"], "", 1, "<=",
               note="%d polls" % st["connection_polls"]),
        Figure(BENCH, "HTTPS steady state: instructions per poll", st["instructions_https"], "", fmt="%.0f",
               note="callgrind, %d polls" % st["instruction_polls_https"]),
        Figure(BENCH, "HTTPS steady state: system calls per poll", st["syscalls_https"], "",
               note="strace -c, %d polls: %s" % (st["syscall_polls_https"], ", ".join(
                   "%s %.2f" % kv for kv in list(st["syscalls_by_name_https"].items())[:6]))),
    ]
    return {"name": BENCH, "figures": figs, "rows": rows, "n": n, "k": k, "k_long": k_long,
            "shell_callgrind_polls": shell_cg_polls, "steady_n": sn, "steady_window": window}
