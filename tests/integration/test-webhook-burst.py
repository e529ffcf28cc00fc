"""A burst of 10,000 events to one webhook: a fleet of 10,000 deployments in a "*" project is
discovered at the first list cycle; every deployment.discovered is delivered, signed, once, in
the daemon's order. Prints the delivery rate."""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

N = 10000


class Collector:
    """Reads the sink's deliveries incrementally (a full read of 10,000 each time is slow)."""

    def __init__(self, sink):
        self.sink = sink
        self.got = []

    def __call__(self):
        self.got += self.sink.deliveries(len(self.got))
        return self.got


STALL = 20  # seconds without a new event while discovering: stuck


class Progress:
    """Whether a count reached its goal or stopped growing for STALL seconds."""

    def __init__(self, count):
        self.count = count
        self.last = -1
        self.since = time.monotonic()
        self.stalled = False

    def until(self, goal):
        n = self.count()
        if n >= goal:
            return True
        if n != self.last:
            self.last, self.since = n, time.monotonic()
        self.stalled = time.monotonic() - self.since > STALL
        return self.stalled


def main(t):
    scenario = {"fleets": [{"project_id": 2, "prefix": "bench-", "count": N, "status": "ACTIVE", "regions": [1]}]}
    with iw.Sim(scenario) as sim, iw.Sink(secret="burst") as sink:
        wh = h.webhook("burst", sink.hook_url(), secret="burst", events=["deployment.discovered"])
        state = iw.tmpdir("state-")
        conf = h.config(sim, state, [{"id": 2, "deployments": "*"}], [wh], interval="30s",
                        account={"page_size": 1000})
        started = time.monotonic()
        d = h.start(conf)
        collect = Collector(sink)
        progress = Progress(lambda: len(h.events(d)))
        iw.wait_until(lambda: progress.until(N + 1), 120, "the daemon to log the discoveries", interval=0.2)
        if progress.stalled:
            msg = "the daemon stopped logging discoveries at %d of %d for %d s" % (progress.last - 1, N, STALL)
            t.ok(False, "%d events delivered in order" % N, msg)
            h.stop(t, d)
            return
        n = len(collect())
        sample = iw.wait_until(lambda: (lambda g: g[n:n + 11] if len(g) > n + 10 else None)(collect()), 60,
                               "ten more deliveries")
        gap = statistics.median(b["time_us"] - a["time_us"] for a, b in zip(sample, sample[1:])) / 1e6
        # 100 ms or more between deliveries cannot deliver the burst in time (a curl timer left at
        # sd-event's default 250 ms accuracy would start every request up to 250 ms late).
        if not t.ok(gap < 0.1, "deliveries follow each other without timer slack",
                    "%.0f ms between deliveries" % (gap * 1000)):
            h.stop(t, d)
            return
        iw.wait_until(lambda: len(set(h.ids(collect()))) >= N, 240, "%d deliveries" % N, interval=0.2)
        elapsed = time.monotonic() - started
        got = collect()
        logged = [e["id"] for e in h.events(d) if h.accepts(wh, e)]
        t.eq(len(logged), N, "the daemon logged %d deployment.discovered" % N)
        t.eq(h.collapse(h.ids(got)), logged, "all %d delivered, in the logged order" % N)
        if len(got) > N:
            t.diag("%d deliveries repeated (at-least-once: an attempt timed out while the daemon was busy)"
                   % (len(got) - N))
        t.eq(sorted({x["status"] for x in got}), [200], "every delivery answered 200")
        t.eq(sorted({x["signature"] for x in got}), ["valid"], "every delivery signed")
        names = h.collapse([h.body(x)["deployment"] for x in got])
        t.eq(sorted(names), ["bench-%05d" % i for i in range(N)], "one per deployment of the fleet")
        span = (got[-1]["time_us"] - got[0]["time_us"]) / 1e6
        rate = (len(got) - 1) / span if span > 0 else float("inf")
        t.diag("burst: %d events delivered in %.2f s (first to last delivery): %.0f events/s; "
               "%.1f s from the daemon's start" % (N, span, rate, elapsed))
        s = iw.wait_until(lambda: (lambda s: s if s["backlog"] == 0 and s["delivered"] == N else None)(
            h.webhook_status(conf, "burst")), 10, "--status to catch up")
        t.ok(s["dropped"] == 0 and s["last_result"] == "HTTP 200", "--status: delivered %d, backlog 0" % N, s)
        t.eq(h.spool_files(state, "burst"), [], "the spool is empty")
        h.stop(t, d)


iw.run(main)
