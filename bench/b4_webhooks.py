"""B4, webhook throughput: a burst of 10,000 events (the discovery of a 10,000-deployment project
read through the list endpoint, page_size 1000) delivered to one signed JSON webhook on the local
sink. Rate: deliveries per second between the first and the last delivery at the sink, and the
time from the first event to the last delivery. Loss: events the daemon logged that the sink did
not receive (must be 0). Order: the sink's order of event ids compared with the daemon's.
"""

import json
import os
import time

from benchlib import TOKEN, Figure, Sampler, daemon_config, iw, progress, stop_usage, write_csv

BENCH = "B4 webhook throughput"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def run(ctx):
    n = ctx.param("b4_events", 10000, 1000)
    progress("B4: %d events to one webhook" % n)
    sim = iw.Sim({"fleets": [{"project_id": 1, "prefix": "hook-", "count": n, "regions": [1, 7], "ready": 2}]},
                 tokens=(TOKEN,))
    sink = iw.Sink(secret=SECRET)
    key = iw.write_secret("api-key", TOKEN)
    secret = iw.write_secret("hook-secret", SECRET)
    hooks = ('webhooks = ( { name = "bench"; url = "%s"; secret_file = "%s"; events = [ "deployment.*" ]; } );\n'
             % (sink.hook_url(), secret))
    conf = daemon_config(sim, key, iw.tmpdir("state-"), [(1, "*")], interval="1h",
                         account_extra="page_size = 1000;", top=hooks)
    t_start = time.time()
    d = iw.Daemon(conf, args=["--log-target=stderr", "--log-format=json"])
    s = Sampler(sim, d.pid)

    def delivered():
        if d.returncode is not None:
            raise RuntimeError("inferwatchd exited: " + d.stderr()[-2000:])
        with open(sink.record_path, "rb") as f:
            return f.read().count(b"\n") >= n
    iw.wait_until(delivered, 600, "%d deliveries" % n, interval=0.2)
    time.sleep(1)  # anything beyond n (duplicates) would arrive now
    cpu = s.sample()["cpu"]
    stop_usage(d.proc)

    logged = []
    for line in d.stderr().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict) and e.get("type", "").startswith("deployment."):
            logged.append(e["id"])
    records = sink.records()
    got = [json.loads(r["body"])["id"] for r in records]
    times = [r["time_us"] for r in records]
    sim.stop()
    sink.stop()
    lost = len(set(logged) - set(got))
    duplicates = len(got) - len(set(got))
    in_order = [i for i in got if i in set(logged)] == logged
    bad_signatures = sum(1 for r in records if r["signature"] != "valid")
    span = (times[-1] - times[0]) / 1e6 if len(times) > 1 else 0
    total = times[-1] / 1e6 - t_start if times else 0
    row = {"events": len(logged), "delivered": len(got), "lost": lost, "duplicates": duplicates,
           "in_order": in_order, "bad_signatures": bad_signatures, "delivery_span_s": span,
           "rate_per_s": (len(got) - 1) / span if span else None, "start_to_last_delivery_s": total,
           "daemon_cpu_s": cpu}
    write_csv(ctx.csv("b4-webhooks.csv"), [row])
    progress("B4: %d delivered in %.1f s (%.0f/s), %d lost, in order: %s" % (len(got), span, row["rate_per_s"] or 0,
                                                                             lost, in_order))
    figs = [
        Figure(BENCH, "events logged by the daemon", len(logged), "", fmt="%d"),
        Figure(BENCH, "delivery rate", row["rate_per_s"], "/s", fmt="%.0f"),
        Figure(BENCH, "daemon start to last delivery", total, "s", fmt="%.1f"),
        Figure(BENCH, "lost", lost, "", 0, "<=", fmt="%d"),
        Figure(BENCH, "duplicates", duplicates, "", fmt="%d"),
        Figure(BENCH, "out of order", 0 if in_order else 1, "", 0, "<=", fmt="%d"),
        Figure(BENCH, "invalid signatures", bad_signatures, "", 0, "<=", fmt="%d"),
        Figure(BENCH, "daemon CPU for the whole run", cpu, "s", fmt="%.2f"),
    ]
    return {"name": BENCH, "figures": figs, "rows": [row]}
