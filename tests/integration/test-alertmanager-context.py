"""A real Alertmanager keeps the annotations of the latest post, so the periodic re-posts of
open alerts must carry all the context the firing post carried: the capacity hint of a
scheduling failure, log_tail_status when the tail could not be fetched, and the log tail, also
after inferwatchd restarts (the context is kept with the open alert in the state, the tail at
most 3000 bytes). Skipped when Alertmanager is not installed."""

import calendar
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from promlib import ALERTMANAGER, Alertmanager  # noqa: E402
from hooklib import iw  # noqa: E402

NO_GPU = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
HINT = "capacity for 1xA100 in Luxembourg-2 (7): 0"


def epoch(ts):
    """Seconds since the epoch of an RFC 3339 time as Alertmanager writes it."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|([+-])(\d\d):(\d\d))$", ts)
    offset = 0 if m.group(3) == "Z" else (1 if m.group(4) == "+" else -1) * (int(m.group(5)) * 3600 + int(m.group(6)) * 60)
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + float("0" + (m.group(2) or "")) - offset


def held(am):
    """Alertmanager's open alerts of the test, by deployment."""
    return {a["labels"]["deployment"]: a for a in am.alerts()
            if a["labels"].get("alertname") == "InferenceDeploymentUnhealthy"}


def reposted_after(am, since, names):
    """The held alerts once Alertmanager took a post of each of names after since (epoch s)."""
    def check():
        alerts = held(am)
        ok = all(n in alerts and epoch(alerts[n]["updatedAt"]) > since for n in names)
        return alerts if ok else None
    return check


def check_context(t, alerts, when):
    gpu, lost = alerts["gpu"]["annotations"], alerts["lost"]["annotations"]
    t.eq(gpu.get("capacity"), HINT, when + ": the capacity annotation")
    tail = gpu.get("log_tail", "")
    t.ok("Back-off: " + NO_GPU in tail and "-r7-" in tail and len(tail.encode("utf-8")) <= 3000,
         when + ": the log tail annotation of region 7", tail)
    t.eq(gpu.get("region_names"), "Luxembourg-2 (7)", when + ": the region name annotation")
    t.ok(lost.get("log_tail_status", "").startswith("could not be fetched: HTTP 500") and "log_tail" not in lost,
         when + ": log_tail_status says why there is no tail", lost)


def main(t):
    if not os.access(ALERTMANAGER, os.X_OK):
        t.skip_all("%s is not installed (Debian package prometheus-alertmanager)" % ALERTMANAGER)
    scenario = {"regions": [{"id": 7, "display_name": "Luxembourg-2"}],
                "capacity": [{"region_id": 7, "capacity": [{"flavor_name": "1xA100", "capacity": 0}]}],
                "deployments": [{"project_id": 1, "name": n, "regions": [1, 7], "flavor_name": "1xA100"}
                                for n in ("gpu", "lost")]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        am = Alertmanager(sink.hook_url("/alertmanager"))
        wh = h.webhook("am", am.url, format="alertmanager")
        state = iw.tmpdir("state-")
        conf = h.config(sim, state, [{"id": 1, "deployments": ["gpu", "lost"]}], [wh])
        d = h.start(conf)
        for n in ("gpu", "lost"):
            iw.wait_until(lambda: any(e["type"] == "deployment.discovered" and e["deployment"] == n
                                      for e in h.events(d)), 15, "discovery of " + n)

        # "lost": its log request answers 500; then "gpu": a scheduling failure, whose alert names
        # the capacity (one at a time: the fault is for the next logs request).
        sim.fault("status", status=500, endpoint="logs", count=1)
        firing = {}
        for n, error in (("lost", "Back-off restarting failed container"), ("gpu", NO_GPU)):
            sim.set(1, n, status="PARTIALLYDEPLOYED", containers=[
                {"region_id": 1, "ready": 1}, {"region_id": 7, "ready": 0, "error_message": error}])
            firing[n] = iw.wait_until(lambda: [e for e in h.events(d)
                                               if e["type"] == "alert.firing" and e["deployment"] == n], 20,
                                      "alert.firing of " + n)[0]
        t.eq(firing["gpu"]["data"].get("capacity_hint"), HINT, "alert.firing of gpu: the capacity hint")
        iw.wait_until(lambda: h.webhook_status(conf, "am")["delivered"] >= 2, 15, "both alerts posted")
        first = time.time()

        # At least one re-post (every 3 s, the poll interval) after the firing posts.
        alerts = iw.wait_until(reposted_after(am, first + 0.5, ("gpu", "lost")), 30, "a re-post of both alerts")
        check_context(t, alerts, "after a re-post")

        # A restart: the tails fetched before are not in memory any more, only in the state.
        h.stop(t, d)
        records = [json.loads(line) for line in open(os.path.join(state, "state.json")) if line.strip()]
        kept = {r["name"]: r["alert"] for r in records if isinstance(r.get("alert"), dict) and "name" in r}
        t.ok(kept.get("gpu", {}).get("capacity_hint") == HINT and "Back-off: " + NO_GPU in kept["gpu"].get("log_tail", "")
             and kept.get("lost", {}).get("log_tail_status", "").startswith("could not be fetched"),
             "state.json keeps each open alert's context", kept)
        d = h.start(conf)
        restarted = time.time()
        alerts = iw.wait_until(reposted_after(am, restarted + 0.5, ("gpu", "lost")), 30,
                               "a re-post of both alerts by the restarted daemon")
        check_context(t, alerts, "after a restart")
        t.eq(sim.counters()["by_logs"].get("1/gpu/7"), 1, "the restarted daemon fetched no tail again")
        t.eq([e["type"] for e in h.events(d) if e["type"].startswith("alert.")], [],
             "the restarted daemon fires no alert again")
        h.stop(t, d)
        am.stop()


iw.run(main)
