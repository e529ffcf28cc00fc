"""The heartbeat against the sink: a ping of the URL read from url_file once per interval while
every deployment is polled and the API answers; during an API outage a ping of fail_url instead
(and none of the URL); none at all once the daemon is stopped. The URLs never appear in the
daemon's output."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

INTERVAL = 2


def main(t):
    scenario = {"deployments": [{"project_id": 1, "name": n, "regions": [1]} for n in ("a", "b")]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        secret_path = "/ping/2f1c-secret-uuid"
        url_file = iw.write_secret("heartbeat-url", sink.url + secret_path)
        conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["a", "b"]}], [],
                        interval="%ds" % INTERVAL, fast_interval="500ms", unreachable_after=2)
        conf += 'heartbeat = { url_file = "%s"; fail_url = "%s"; timeout = "1s"; };\n' % (
            url_file, sink.url + "/ping/2f1c-secret-uuid/fail")
        d = h.start(conf)

        def pings(path, since=0):
            return [x for x in sink.deliveries(since) if x["path"] == path]

        ok = iw.wait_until(lambda: (lambda p: p if len(p) >= 3 else None)(pings(secret_path)), 8 * INTERVAL,
                           "three pings")
        gaps = [(b["time_us"] - a["time_us"]) / 1e6 for a, b in zip(ok, ok[1:])]
        t.ok(all(INTERVAL - 0.3 <= g <= INTERVAL + 0.5 for g in gaps), "one ping per interval while healthy", gaps)
        t.eq(pings(secret_path + "/fail"), [], "no failure ping while healthy")
        t.eq({x["method"] for x in ok}, {"GET"}, "pings are GETs")

        sim.fault("status", status=503, duration=4 * INTERVAL)
        iw.wait_until(lambda: any(e["type"] == "api.unreachable" for e in h.events(d)), 15, "api.unreachable")
        n = len(sink.deliveries())
        fail = iw.wait_until(lambda: pings(secret_path + "/fail", n), 3 * INTERVAL, "a failure ping")
        t.ok(len(fail) >= 1, "a failure ping during the API outage")
        t.eq(pings(secret_path, n), [], "no success ping during the outage")

        sim.clear_faults()
        iw.wait_until(lambda: any(e["type"] == "api.recovered" for e in h.events(d)), 20, "api.recovered")
        m = len(sink.deliveries())
        again = iw.wait_until(lambda: pings(secret_path, m), 4 * INTERVAL, "pings again after the recovery")
        t.eq(again[0]["method"], "GET", "success pings again once the API recovered")

        h.stop(t, d)
        m = len(sink.deliveries())
        stopped = time.time()
        iw.wait_until(lambda: time.time() > stopped + 2 * INTERVAL + 0.5, 10, "two intervals after the stop")
        t.eq(sink.deliveries(m), [], "no ping after the daemon stopped")
        out = d.stdout() + d.stderr()
        t.ok("2f1c-secret-uuid" not in out, "the ping URLs never appear in the daemon's output")


iw.run(main)
