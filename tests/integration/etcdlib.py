"""A real etcd cluster for the HA tests: members on 127.0.0.1 with ports the kernel chose free
just before (etcd cannot take port 0), data in a temporary directory, all killed at the end."""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import iw  # noqa: E402


def etcd_binary():
    return shutil.which("etcd") or next((p for p in ("/usr/bin/etcd", "/usr/sbin/etcd") if os.path.exists(p)), None)


def cluster_or_skip(t, binary, n=1):
    """A cluster of n members for test t of the daemon binary, or the test skipped when etcd or
    that binary (a test build) is missing."""
    if not etcd_binary():
        t.skip_all("etcd is not installed (Debian: etcd-server)")
    if not os.access(binary, os.X_OK):
        t.skip_all("%s is not built" % binary)
    return Cluster(n)


def _free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Cluster:
    def __init__(self, n=3):
        self.binary = etcd_binary()
        self.dir = iw.tmpdir("etcd-")
        ports = _free_ports(2 * n)
        self.names = ["m%d" % (i + 1) for i in range(n)]
        self.client = {name: ports[i] for i, name in enumerate(self.names)}
        self.peer = {name: ports[n + i] for i, name in enumerate(self.names)}
        self.procs = {}
        self.initial = ",".join("%s=http://127.0.0.1:%d" % (m, self.peer[m]) for m in self.names)
        for m in self.names:
            self.start(m, "new")
        iw.wait_until(lambda: all(self.healthy(m) for m in self.names), 60, "etcd members healthy")

    def endpoints(self):
        return ["http://127.0.0.1:%d" % self.client[m] for m in self.names]

    def start(self, m, state="existing"):
        log = os.path.join(self.dir, m + ".log")
        args = [self.binary, "--name", m, "--data-dir", os.path.join(self.dir, m),
                "--listen-client-urls", "http://127.0.0.1:%d" % self.client[m],
                "--advertise-client-urls", "http://127.0.0.1:%d" % self.client[m],
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer[m],
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer[m],
                "--initial-cluster", self.initial, "--initial-cluster-state", state,
                "--listen-metrics-urls", "http://127.0.0.1:%d" % _free_ports(1)[0]]
        self.procs[m] = iw._spawn(args, None, log)

    def kill(self, m):
        p = self.procs.pop(m)
        p.send_signal(signal.SIGKILL)
        p.wait()

    def healthy(self, m):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/health" % self.client[m], timeout=2) as r:
                return json.load(r).get("health") == "true"
        except Exception:
            return False

    def _post(self, m, path, body):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.client[m], path), data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def count(self, prefix):
        """How many keys start with prefix."""
        def b64(x):
            return base64.b64encode(x.encode()).decode()
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        m = next(iter(self.procs))
        return int(self._post(m, "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end),
                                                   "count_only": True}).get("count", 0))

    def values(self, prefix):
        """{key: value} of every key that starts with prefix (text)."""
        def b64(x):
            return base64.b64encode(x.encode()).decode()
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        m = next(iter(self.procs))
        kvs = self._post(m, "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)}).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode() for kv in kvs}

    def raft_leader(self):
        """The name of the member that leads the etcd cluster itself (raft), or None."""
        for m in self.procs:
            try:
                st = self._post(m, "/v3/maintenance/status", {})
            except Exception:
                continue
            members = self._post(m, "/v3/cluster/member/list", {})["members"]
            return next((x["name"] for x in members if x["ID"] == st.get("leader")), None)
        return None

    def move_raft_leader_off(self, m):
        """Makes another member the raft leader if m is, so that killing m is a plain member's loss
        (killing the raft leader makes etcd unavailable for an election timeout)."""
        leader = self.raft_leader()
        if leader != m:
            return
        members = self._post(m, "/v3/cluster/member/list", {})["members"]
        target = next(x["ID"] for x in members if x["name"] != m)
        self._post(m, "/v3/maintenance/transfer-leadership", {"targetID": target})
        iw.wait_until(lambda: self.raft_leader() not in (None, m), 20, "etcd leadership moved off " + m)

    def close(self):
        for m in list(self.procs):
            self.kill(m)
