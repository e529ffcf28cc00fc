"""Steady-state cost of a get-one poll: inferwatchd watching N named deployments at a 1 s
interval; after a warm-up, (a) `strace -c -f` attached for a window counts the system calls and
(b) callgrind, zeroed after the warm-up and dumped after the window, counts the instructions.
Both divided by the polls the server counted in the window. Instruction and system call
counts, unlike times, do not move with the load of a shared machine.

The server is the simulator (HTTP/1.1, plain or over TLS), or with h2 nghttpd (HTTP/2 over TLS,
tests/harness/h2server.py) serving the simulator's answers as files; its frame log counts the
polls, the connections and the streams in flight.

    python3 bench/steady.py [N] [WINDOW_S]      (top_builddir / top_srcdir as for bench/run.py)
    TLS=1 or H2=1 in the environment: over HTTPS (HTTP/1.1) or HTTP/2
"""

import glob
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import TOKEN, daemon_config, fleet_names, iw, proc_cpu  # noqa: E402
import h2server  # noqa: E402  (tests/harness, on the path through benchlib)

WARMUP_POLLS_PER_DEPLOYMENT = 3


class Target:
    """Where the polls go: the simulator (HTTP/1.1; tls: HTTPS), or with h2 nghttpd (HTTP/2 over
    TLS) serving the simulator's get-one answers as files. .url, .ca_file; polls() and
    connections() count what the server saw so far (connections that carried requests)."""

    def __init__(self, n, tls=False, h2=False):
        self.sim = iw.Sim({"fleets": [{"project_id": 1, "prefix": "bench-", "count": n, "regions": [1, 7],
                                       "ready": 2}]}, tokens=(TOKEN,), tls=tls and not h2)
        self.h2 = None
        if h2:
            self.h2 = h2server.H2Server()
            self.h2.mirror(self.sim, ["/cloud/v3/inference/1/deployments/" + name for name in fleet_names("bench-", n)])
            self.h2.mirror(self.sim, ["/cloud/v1/regions", "/cloud/v3/inference/capacity"])
        server = self.h2 or self.sim
        self.url, self.ca_file = server.url, server.ca_file

    def polls(self):
        if self.h2:
            return sum(1 for _, p in self.h2.stats()["paths"] if "/deployments/" in p)
        return self.sim.counters()["total"]

    def connections(self):
        if self.h2:
            return len(self.h2.stats()["connections"])
        return self.sim.counters()["connections"]

    def stop(self):
        if self.h2:
            self.h2.stop()
        self.sim.stop()


def start(n, wrapper=(), tls=False, h2=False):
    target = Target(n, tls, h2)
    key = iw.write_secret("api-key", TOKEN)
    ca = 'ca_file = "%s";' % target.ca_file if target.ca_file else ""
    conf = daemon_config(target, key, iw.tmpdir("state-"), [(1, fleet_names("bench-", n))], interval="1s",
                         fast_interval="1s", account_extra='timeout = "10s"; ' + ca)
    d = iw.Daemon(conf, args=["--log-target=stderr"], wrapper=wrapper)
    iw.wait_until(lambda: d.returncode is not None or target.polls() >= WARMUP_POLLS_PER_DEPLOYMENT * n,
                  timeout=120, what="warm-up polls", interval=0.05)
    if d.returncode is not None:
        raise RuntimeError("inferwatchd exited: " + d.stderr()[-2000:])
    return target, d


def connections(n, window, tls=True, h2=False):
    """New connections per 1,000 polls in the steady state (the server's count of connections
    that carried API requests, over window seconds after the warm-up); returns (per 1000, polls)."""
    target, d = start(n, tls=tls, h2=h2)
    c0, p0 = target.connections(), target.polls()
    time.sleep(window)
    c, polls = target.connections() - c0, target.polls() - p0
    d.stop()
    target.stop()
    return 1000.0 * c / polls, polls


def open_connections(pid, port):
    """The daemon's established TCP connections to 127.0.0.1:port."""
    return sum(1 for _, remote in h2server.tcp_sockets(pid, "01") if remote == port)


def reuse(n, window, tls=True, h2=False):
    """The connections in the steady state, over window seconds after the warm-up: {"polls",
    "new_connections", "new_per_1000", "open" (the daemon's connections to the server at the
    end), "requests_per_connection" (polls / open), "max_streams" (HTTP/2: the most requests in
    flight at once on one connection), "cpu_per_poll_us" (the daemon's, schedstat)}."""
    target, d = start(n, tls=tls, h2=h2)
    c0, p0, cpu0 = target.connections(), target.polls(), proc_cpu(d.pid)
    s0 = {cid: dict(c) for cid, c in target.h2.stats()["connections"].items()} if h2 else {}
    time.sleep(window)
    polls, new, cpu = target.polls() - p0, target.connections() - c0, proc_cpu(d.pid) - cpu0
    port = int(target.url.rsplit(":", 1)[1])
    opened = open_connections(d.pid, port)
    res = {"polls": polls, "new_connections": new, "new_per_1000": 1000.0 * new / polls, "open": opened,
           "requests_per_connection": polls / opened if opened else None, "max_streams": None,
           "cpu_per_poll_us": 1e6 * cpu / polls}
    if h2:
        conns = target.h2.stats()["connections"]
        used = [c for cid, c in conns.items() if c["requests"] > s0.get(cid, {}).get("requests", 0)]
        res["max_streams"] = max((c["max_streams"] for c in used), default=0)
        res["protocols"] = sorted({c["protocol"] for c in conns.values()})
        res["connections_used"] = len(used)
    d.stop()
    target.stop()
    return res


def syscalls(n, window, tls=False, h2=False):
    """(system calls per poll, {name: calls per poll}, polls) over window seconds."""
    target, d = start(n, tls=tls, h2=h2)
    out = os.path.join(iw.tmpdir("strace-"), "strace.txt")
    st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(d.pid)], stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached
    before = target.polls()
    time.sleep(window)
    polls = target.polls() - before
    st.send_signal(2)
    st.wait(30)
    d.stop()
    target.stop()
    calls = {}
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
    total = sum(calls.values())
    return total / polls, {k: v / polls for k, v in sorted(calls.items(), key=lambda kv: -kv[1])}, polls


def instructions(n, window, keep=None, tls=False, h2=False):
    """Instructions per poll under callgrind, zeroed after the warm-up; returns (per poll, polls, file)."""
    cg = keep or iw.tmpdir("callgrind-")
    os.makedirs(cg, exist_ok=True)
    base = os.path.join(cg, "steady-%s.out" % ("h2" if h2 else "https" if tls else "http"))
    target, d = start(n, wrapper=["valgrind", "--tool=callgrind", "--quiet", "--callgrind-out-file=" + base],
                      tls=tls, h2=h2)
    subprocess.run(["callgrind_control", "--zero", str(d.pid)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    before = target.polls()
    time.sleep(window)
    subprocess.run(["callgrind_control", "--dump", str(d.pid)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    polls = target.polls() - before
    d.stop()
    target.stop()
    dumps = sorted(p for p in glob.glob(base + ".*") if re.search(r"\.\d+$", p))
    total = 0
    with open(dumps[0], errors="replace") as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
                break
    return total / polls, polls, dumps[0]


def by_object(path):
    """A callgrind file's self cost (instructions) per object (executable or shared library, by
    its file name without the version suffix): {name: instructions}. Call lines ("calls=" and
    the line after, the callee's inclusive cost) are not self cost."""
    names, cost = {}, {}
    current, after_call = None, False

    def name_of(spec):
        m = re.match(r"\((\d+)\)(?: (.*))?$", spec.strip())
        if not m:
            return spec.strip()
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1))

    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                current = name_of(line[3:])
            elif line.startswith("cob="):
                name_of(line[4:])
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_call:
                    after_call = False
                    continue
                parts = line.split()
                if len(parts) >= 2 and current:
                    lib = re.sub(r"\.so(\.\d+)*$", "", os.path.basename(current))
                    cost[lib] = cost.get(lib, 0) + int(parts[1])
    return cost


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    window = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    h2 = os.environ.get("H2") == "1"
    tls = h2 or os.environ.get("TLS") == "1"
    if tls:
        print("connections: %s" % reuse(n, window, h2=h2))
    per, calls, polls = syscalls(n, window, tls, h2)
    print("syscalls per poll %.2f over %d polls" % (per, polls))
    for k, v in calls.items():
        print("  %-20s %.2f" % (k, v))
    per, polls, path = instructions(n, window, keep=os.environ.get("KEEP"), tls=tls, h2=h2)
    print("instructions per poll %.0f over %d polls (%s)" % (per, polls, path))
