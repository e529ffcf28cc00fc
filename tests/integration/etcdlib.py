"""A real etcd cluster for the HA tests: members on 127.0.0.1 with ports the kernel chose free
just before (etcd cannot take port 0), data in a temporary directory, all killed at the end."""

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import iw  # noqa: E402


def etcd_binary():
    return shutil.which("etcd") or next((p for p in ("/usr/bin/etcd", "/usr/sbin/etcd") if os.path.exists(p)), None)


def require(t):
    """Skips the test without etcd."""
    if not etcd_binary():
        t.skip_all("etcd is not installed (Debian: etcd-server)")


def of_type(daemon, t, include_webhook_events=False):
    """The events of type t the daemon logged."""
    import hooklib
    return [e for e in hooklib.events(daemon, include_webhook_events) if e["type"] == t]


def cluster_or_skip(t, binary, n=1):
    """A cluster of n members for test t of the daemon binary, or the test skipped when etcd or
    that binary (a test build) is missing."""
    require(t)
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


def b64(x):
    return base64.b64encode(x if isinstance(x, bytes) else x.encode()).decode()


def make_client_cert(ca_file, name="client"):
    """A client certificate signed by the CA of iw.make_test_ca() (its key is next to ca_file),
    made now with the openssl command. Returns (cert_file, key_file)."""
    d = os.path.dirname(ca_file)
    p = lambda x: os.path.join(d, x)  # noqa: E731
    for args in (["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + name],
                 ["x509", "-req", "-in", p(name + ".csr"), "-CA", ca_file, "-CAkey", p("ca.key"), "-CAcreateserial",
                  "-out", p(name + ".pem"), "-days", "1"]):
        subprocess.run(["openssl"] + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p(name + ".pem"), p(name + ".key")


class Cluster:
    """tls: None, or (ca_file, cert_file, key_file) of iw.make_test_ca(): the members then serve
    clients over HTTPS only and require a client certificate of that CA (.client_cert,
    .client_key, made here; the tests use it too)."""

    def __init__(self, n=3, tls=None):
        self.binary = etcd_binary()
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.context = None
        if tls:
            self.client_cert, self.client_key = make_client_cert(tls[0])
            self.context = ssl.create_default_context(cafile=tls[0])
            self.context.load_cert_chain(self.client_cert, self.client_key)
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

    def section(self, member, prefix, **keys):
        """The cluster section of a member's configuration: every endpoint, lease_ttl 3s, timeout
        1s, and keys (str values, quoted)."""
        keys = dict(dict(lease_ttl="3s", timeout="1s"), **keys)
        return "cluster = { endpoints = [ %s ]; name = \"%s\"; prefix = \"%s\"; %s };\n" % (
            ", ".join('"%s"' % e for e in self.endpoints()), member, prefix,
            " ".join('%s = "%s";' % kv for kv in keys.items()))

    def endpoints(self):
        return ["%s://127.0.0.1:%d" % (self.scheme, self.client[m]) for m in self.names]

    def start(self, m, state="existing"):
        log = os.path.join(self.dir, m + ".log")
        args = [self.binary, "--name", m, "--data-dir", os.path.join(self.dir, m),
                "--listen-client-urls", "%s://127.0.0.1:%d" % (self.scheme, self.client[m]),
                "--advertise-client-urls", "%s://127.0.0.1:%d" % (self.scheme, self.client[m]),
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer[m],
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer[m],
                "--initial-cluster", self.initial, "--initial-cluster-state", state,
                "--listen-metrics-urls", "http://127.0.0.1:%d" % _free_ports(1)[0]]
        if self.tls:
            args += ["--trusted-ca-file", self.tls[0], "--cert-file", self.tls[1], "--key-file", self.tls[2],
                     "--client-cert-auth"]
        self.procs[m] = iw._spawn(args, None, log)

    def kill(self, m):
        p = self.procs.pop(m)
        p.send_signal(signal.SIGKILL)
        p.wait()

    def healthy(self, m):
        try:
            with urllib.request.urlopen("%s://127.0.0.1:%d/health" % (self.scheme, self.client[m]), timeout=2,
                                        context=self.context) as r:
                return json.load(r).get("health") == "true"
        except Exception:
            return False

    def _post(self, m, path, body):
        req = urllib.request.Request("%s://127.0.0.1:%d%s" % (self.scheme, self.client[m], path),
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30, context=self.context) as r:
            return json.load(r)

    def put(self, key, value):
        """Writes value (str or bytes) at key; returns the revision of the write."""
        m = next(iter(self.procs))
        return int(self._post(m, "/v3/kv/put", {"key": b64(key), "value": b64(value)})["header"]["revision"])

    def keys(self, prefix):
        """{key: size of its value} of every key that starts with prefix (keys only would not give
        sizes: read in pages of 8)."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        m = next(iter(self.procs))
        out, start = {}, prefix.encode()
        while True:
            r = self._post(m, "/v3/kv/range", {"key": b64(start), "range_end": b64(end), "limit": 8})
            for kv in r.get("kvs", []):
                out[base64.b64decode(kv["key"]).decode()] = len(base64.b64decode(kv.get("value", "")))
            if not r.get("more"):
                return out
            start = base64.b64decode(r["kvs"][-1]["key"]) + b"\0"

    def count(self, prefix):
        """How many keys start with prefix."""
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
