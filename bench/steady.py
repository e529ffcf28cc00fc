"""Steady-state cost of a get-one poll: inferwatchd watching N named deployments at a 1 s
interval; after a warm-up, (a) `strace -c -f` attached for a window counts the system calls and
(b) callgrind, zeroed after the warm-up and dumped after the window, counts the instructions.
Both divided by the polls the simulator counted in the window. Instruction and system call
counts, unlike times, do not move with the load of a shared machine.

    python3 bench/steady.py [N] [WINDOW_S]      (top_builddir / top_srcdir as for bench/run.py)
"""

import glob
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import TOKEN, daemon_config, fleet_names, iw  # noqa: E402

WARMUP_POLLS_PER_DEPLOYMENT = 3


def start(n, wrapper=(), tls=False):
    sim = iw.Sim({"fleets": [{"project_id": 1, "prefix": "bench-", "count": n, "regions": [1, 7], "ready": 2}]},
                 tokens=(TOKEN,), tls=tls)
    key = iw.write_secret("api-key", TOKEN)
    ca = 'ca_file = "%s";' % sim.ca_file if tls else ""
    conf = daemon_config(sim, key, iw.tmpdir("state-"), [(1, fleet_names("bench-", n))], interval="1s",
                         fast_interval="1s", account_extra='timeout = "10s"; ' + ca)
    d = iw.Daemon(conf, args=["--log-target=stderr"], wrapper=wrapper)
    iw.wait_until(lambda: d.returncode is not None or sim.counters()["total"] >= WARMUP_POLLS_PER_DEPLOYMENT * n,
                  timeout=120, what="warm-up polls", interval=0.05)
    if d.returncode is not None:
        raise RuntimeError("inferwatchd exited: " + d.stderr()[-2000:])
    return sim, d


def connections(n, window, tls=True):
    """New connections per 1,000 polls in the steady state (the simulator's count of connections
    that carried API requests, over window seconds after the warm-up); returns (per 1000, polls)."""
    sim, d = start(n, tls=tls)
    sim.reset_counters()
    time.sleep(window)
    c = sim.counters()
    d.stop()
    sim.stop()
    return 1000.0 * c["connections"] / c["total"], c["total"]


def syscalls(n, window, tls=False):
    """(system calls per poll, {name: calls per poll}, polls) over window seconds."""
    sim, d = start(n, tls=tls)
    out = os.path.join(iw.tmpdir("strace-"), "strace.txt")
    before = sim.counters()["total"]
    st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(d.pid)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached
    before = sim.counters()["total"]
    time.sleep(window)
    polls = sim.counters()["total"] - before
    st.send_signal(2)
    st.wait(30)
    d.stop()
    sim.stop()
    calls = {}
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    total = sum(calls.values())
    return total / polls, {k: v / polls for k, v in sorted(calls.items(), key=lambda kv: -kv[1])}, polls


def instructions(n, window, keep=None, tls=False):
    """Instructions per poll under callgrind, zeroed after the warm-up; returns (per poll, polls, file)."""
    cg = keep or iw.tmpdir("callgrind-")
    os.makedirs(cg, exist_ok=True)
    base = os.path.join(cg, "steady-%s.out" % ("https" if tls else "http"))
    sim, d = start(n, wrapper=["valgrind", "--tool=callgrind", "--quiet", "--callgrind-out-file=" + base], tls=tls)
    subprocess.run(["callgrind_control", "--zero", str(d.pid)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    before = sim.counters()["total"]
    time.sleep(window)
    subprocess.run(["callgrind_control", "--dump", str(d.pid)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    polls = sim.counters()["total"] - before
    d.stop()
    sim.stop()
    dumps = sorted(p for p in glob.glob(base + ".*") if re.search(r"\.\d+$", p))
    total = 0
    with open(dumps[0], errors="replace") as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
                break
    return total / polls, polls, dumps[0]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    window = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    tls = os.environ.get("TLS") == "1"
    if tls:
        print("new connections per 1000 polls %.2f over %d polls" % connections(n, window))
    per, calls, polls = syscalls(n, window, tls)
    print("syscalls per poll %.2f over %d polls" % (per, polls))
    for k, v in calls.items():
        print("  %-20s %.2f" % (k, v))
    per, polls, path = instructions(n, window, keep=os.environ.get("KEEP"), tls=tls)
    print("instructions per poll %.0f over %d polls (%s)" % (per, polls, path))
