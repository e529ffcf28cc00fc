"""A real Alertmanager: the InferwatchWatchdog alert fires while inferwatchd runs; an alert
escalated from degraded to failed reaches Alertmanager's API with severity="critical" within one
cycle, the warning one ending; and once inferwatchd is stopped with the alert open, Alertmanager
keeps it firing (no "resolved" notification) until the explicit endsAt of its last post, even
with a resolve_timeout shorter than that, while the watchdog going silent is what ends. Skipped
when Alertmanager is not installed."""

import os
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from promlib import ALERTMANAGER, Alertmanager  # noqa: E402
from hooklib import iw  # noqa: E402

INTERVAL = 3            # the re-post period too: endsAt is 4 * INTERVAL ahead of each post
RESOLVE_TIMEOUT = 4     # what Alertmanager would wait for an alert posted without endsAt
DEGRADED = {"status": "ACTIVE", "containers": [{"region_id": 1, "ready": 1},
                                               {"region_id": 7, "ready": 0, "error_message": "OOM killed"}]}
FAILED = {"status": "ACTIVE", "containers": [{"region_id": 1, "ready": 0},
                                             {"region_id": 7, "ready": 0, "error_message": "OOM killed"}]}


def when(text):
    """Seconds since the epoch of Alertmanager's RFC 3339 times (nanoseconds, "Z")."""
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head).replace(tzinfo=timezone.utc).timestamp() + float("0." + (frac or "0"))


def active(am, severity=None):
    return [a for a in am.alerts() if a["labels"].get("deployment") == "prod-a" and a["status"]["state"] == "active"
            and (severity is None or a["labels"]["severity"] == severity)]


def notified(sink, status):
    return [a for x in sink.deliveries() for a in h.body(x).get("alerts", [])
            if a["labels"].get("deployment") == "prod-a" and a["status"] == status]


def main(t):
    if not os.access(ALERTMANAGER, os.X_OK):
        t.skip_all("%s is not installed (Debian package prometheus-alertmanager)" % ALERTMANAGER)
    with iw.Sim({"deployments": [{"project_id": 1, "name": "prod-a", "regions": [1, 7]}]}) as sim, iw.Sink() as sink:
        am = Alertmanager(sink.hook_url("/alertmanager"), resolve_timeout="%ds" % RESOLVE_TIMEOUT)
        try:
            wh = h.webhook("am", am.url, format="alertmanager", watchdog=True, events=["alert.*", "api.unreachable",
                                                                                        "api.recovered"])
            d = h.start(h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["prod-a"]}], [wh],
                                 interval="%ds" % INTERVAL))
            iw.wait_until(lambda: any(e["type"] == "deployment.discovered" for e in h.events(d)), 15, "discovery")
            dog = iw.wait_until(lambda: [a for a in am.alerts() if a["labels"]["alertname"] == "InferwatchWatchdog"
                                         and a["status"]["state"] == "active"], 15, "the watchdog alert")
            t.eq(dog[0]["labels"], {"alertname": "InferwatchWatchdog", "severity": "none"},
                 "watchdog = true: the always-firing InferwatchWatchdog alert is active while inferwatchd runs")
            sim.set(1, "prod-a", **DEGRADED)
            warning = iw.wait_until(lambda: active(am, "warning"), 20, "the warning alert in Alertmanager")
            ahead = when(warning[0]["endsAt"]) - time.time()
            t.ok(3 * INTERVAL - 1 < ahead <= 4 * INTERVAL + 1,
                 "the open alert ends 4 re-posts after the last post, not resolve_timeout (%.1f s ahead)" % ahead,
                 warning[0])

            sim.set(1, "prod-a", **FAILED)
            changed = time.time()
            iw.wait_until(lambda: any(e["type"] == "alert.escalated" for e in h.events(d)), 15, "alert.escalated")
            critical = iw.wait_until(lambda: active(am, "critical"), 15, "the critical alert in Alertmanager")
            took = time.time() - changed
            t.ok(took <= INTERVAL + 2, "degraded → failed: severity=\"critical\" at Alertmanager's API within one "
                 "cycle (%.1f s)" % took, critical)
            iw.wait_until(lambda: not active(am, "warning"), 10, "the warning alert to end")
            t.eq([a["labels"]["severity"] for a in active(am)], ["critical"], "only the critical alert stays active")
            iw.wait_until(lambda: notified(sink, "firing") and any(a["labels"]["severity"] == "critical"
                                                                    for a in notified(sink, "firing")), 15,
                          "the critical alert notified")

            # The API goes away: with api.unreachable in its filter, the webhook posts an alert for it.
            sim.fault("status", status=503, duration=60)
            api = iw.wait_until(lambda: [a for a in am.alerts() if a["labels"]["alertname"] == "InferwatchApiUnreachable"
                                         and a["status"]["state"] == "active"], 20, "the API alert in Alertmanager")
            t.eq(api[0]["labels"], {"alertname": "InferwatchApiUnreachable", "account": "default", "severity": "critical"},
                 "api.unreachable named in the filter: an alert with the account label")

            # Stopped with the alerts open: the last post set their endsAt 4 periods ahead.
            h.stop(t, d)
            stopped = time.time()
            iw.wait_until(lambda: time.time() > stopped + RESOLVE_TIMEOUT + 2 * 2 + 1, 20,
                          "resolve_timeout and two group intervals after the stop")
            t.eq([a["labels"]["severity"] for a in active(am)], ["critical"],
                 "%.0f s after the stop, past resolve_timeout: still firing in Alertmanager" % (time.time() - stopped))
            t.eq([a["labels"]["account"] for a in am.alerts() if a["labels"]["alertname"] == "InferwatchApiUnreachable"
                  and a["status"]["state"] == "active"], ["default"], "and so is the API alert")
            t.eq([a for a in notified(sink, "resolved") if a["labels"]["severity"] == "critical"], [],
                 "no resolved notification for the critical alert")
            # What pages is the watchdog going silent: it ends with its last post's endsAt.
            iw.wait_until(lambda: [a for x in sink.deliveries() for a in h.body(x).get("alerts", [])
                                   if a["labels"]["alertname"] == "InferwatchWatchdog" and a["status"] == "resolved"],
                          4 * INTERVAL + 10, "the watchdog to end")
            t.ok(time.time() - stopped >= 3 * INTERVAL, "the watchdog ends 4 re-posts after the stop (%.1f s), "
                 "as the open alert does" % (time.time() - stopped))
        except Exception:
            t.diag(am.log())
            raise
        finally:
            am.stop()


iw.run(main)
