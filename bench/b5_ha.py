"""B5, high availability: what the leader writes to etcd for 10,000 deployments (10 projects
of 1,000 listed with "*", interval 10 s), in a steady state and during a rollout storm.

A single-member etcd on 127.0.0.1 (ports chosen free at run time) and one inferwatchd with a
cluster section, which leads. Writes are counted by etcd itself (its /metrics:
etcd_mvcc_txn_total, etcd_mvcc_put_total, etcd_mvcc_delete_total, etcd_disk_wal_write_bytes_total);
bytes stored are the values under the prefix, read back with a range. Phases: the discovery
(first cycle), a steady minute (nothing changes), a storm minute (1,000 deployments go
DEPLOYING, then ACTIVE again, in waves of 100).

Run: top_builddir=BUILD python3 bench/b5_ha.py [--quick]   (prints a table, writes
bench/results/b5-ha.csv)
"""

import base64
import json
import os
import re
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from benchlib import TOKEN, daemon_config, iw, progress, write_csv  # noqa: E402
import etcdlib  # noqa: E402

PROJECTS = 10
PER_PROJECT = 1000
PREFIX = "bench"


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    out = {}
    for name in ("etcd_mvcc_txn_total", "etcd_mvcc_put_total", "etcd_mvcc_delete_total",
                 "etcd_disk_wal_write_bytes_total"):
        m = re.search(r"^%s(?:\{[^}]*\})? ([0-9.e+]+)$" % name, text, re.M)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def stored(port):
    def b64(s):
        return base64.b64encode(s.encode()).decode()
    body = json.dumps({"key": b64(PREFIX + "/"), "range_end": b64(PREFIX + "0")}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/v3/kv/range" % port, data=body)
    with urllib.request.urlopen(req, timeout=30) as r:
        kvs = json.load(r).get("kvs", [])
    sizes = [len(base64.b64decode(kv.get("value", ""))) for kv in kvs]
    return len(kvs), sum(sizes), max(sizes or [0])


def delta(a, b, minutes):
    return {"txns_per_min": (b["etcd_mvcc_txn_total"] - a["etcd_mvcc_txn_total"]) / minutes,
            "puts_per_min": (b["etcd_mvcc_put_total"] - a["etcd_mvcc_put_total"]) / minutes,
            "deletes_per_min": (b["etcd_mvcc_delete_total"] - a["etcd_mvcc_delete_total"]) / minutes,
            "wal_bytes_per_min": (b["etcd_disk_wal_write_bytes_total"] - a["etcd_disk_wal_write_bytes_total"])
            / minutes}


def main():
    quick = "--quick" in sys.argv
    minute = 20 if quick else 60
    if not etcdlib.etcd_binary():
        print("etcd is not installed; skipped")
        return 0
    etcd = etcdlib.Cluster(1)
    port = etcd.client[etcd.names[0]]
    fleets = [{"project_id": p, "prefix": "dep-", "count": PER_PROJECT, "status": "ACTIVE", "regions": [1, 7],
               "ready": 2} for p in range(1, PROJECTS + 1)]
    rows = []
    try:
        with iw.Sim({"fleets": fleets}, tokens=(TOKEN,)) as sim:
            key = iw.write_secret("api-key", TOKEN)
            conf = daemon_config(sim, key, iw.tmpdir("state-"), [(p, "*") for p in range(1, PROJECTS + 1)],
                                 interval="10s", account_extra="page_size = 1000;")
            conf += 'cluster = { endpoints = [ "%s" ]; name = "bench"; prefix = "%s"; lease_ttl = "10s"; };\n' % (
                etcd.endpoints()[0], PREFIX)
            m0 = metrics(port)
            t0 = time.monotonic()
            d = iw.Daemon(conf, args=["--log-target=stderr", "--log-level=notice"])
            progress("B5: discovery of %d deployments" % (PROJECTS * PER_PROJECT))
            iw.wait_until(lambda: stored(port)[0] >= 60, 180, "the state in etcd", interval=0.5)
            # The discovery is over when two samples a cycle apart write nothing but the header.
            prev = metrics(port)
            while True:
                time.sleep(11)
                cur = metrics(port)
                if cur["etcd_mvcc_put_total"] - prev["etcd_mvcc_put_total"] <= 3:
                    break
                prev = cur
            m1 = metrics(port)
            keys, size, biggest = stored(port)
            rows.append(dict(phase="discovery", minutes=(time.monotonic() - t0) / 60, keys=keys, stored_bytes=size,
                             largest_value=biggest, **delta(m0, m1, 1)))
            progress("B5: steady for %d s" % minute)
            time.sleep(minute)
            m2 = metrics(port)
            keys, size, biggest = stored(port)
            rows.append(dict(phase="steady", minutes=minute / 60, keys=keys, stored_bytes=size,
                             largest_value=biggest, **delta(m1, m2, minute / 60)))
            progress("B5: rollout storm for %d s (1,000 deployments, waves of 100)" % minute)
            t = time.monotonic()
            names = ["dep-%05d" % i for i in range(100)]
            wave = 0
            while time.monotonic() - t < minute:
                status = "DEPLOYING" if wave % 2 == 0 else "ACTIVE"
                for p in range(1, PROJECTS + 1):
                    for n in names:
                        sim.set(p, n, status=status)
                wave += 1
                time.sleep(max(0.0, 5 - (time.monotonic() - t) % 5))
            m3 = metrics(port)
            keys, size, biggest = stored(port)
            rows.append(dict(phase="storm", minutes=(time.monotonic() - t) / 60, keys=keys, stored_bytes=size,
                             largest_value=biggest, **delta(m2, m3, (time.monotonic() - t) / 60)))
            d.stop()
    finally:
        etcd.close()
    cols = ["phase", "minutes", "txns_per_min", "puts_per_min", "deletes_per_min", "wal_bytes_per_min", "keys",
            "stored_bytes", "largest_value"]
    print(" ".join("%-17s" % c for c in cols))
    for r in rows:
        print(" ".join("%-17s" % (("%.1f" % r[c]) if isinstance(r[c], float) else r[c]) for c in cols))
    write_csv(os.path.join(HERE, "results", "b5-ha.csv"), rows, cols)
    return 0


if __name__ == "__main__":
    sys.exit(main())
