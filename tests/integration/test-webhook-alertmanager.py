"""A real Alertmanager (Debian's prometheus-alertmanager) between inferwatchd and the sink: two
inferwatchd instances, with their own state, watch the same deployment and post to it; Alertmanager
de-duplicates them by labels and notifies the sink once "firing", then "resolved", with the
labels that identify the deployment, and the failing region's name and log tail as annotations,
still there after the re-posts (Alertmanager keeps the latest post's annotations). Skipped
when Alertmanager is not installed."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from promlib import ALERTMANAGER, GROUP_INTERVAL, GROUP_WAIT, Alertmanager  # noqa: E402
from hooklib import iw  # noqa: E402

# "\x1b[31mRED\x1b[0m nul\x00byte bad-\xff-utf8 <!channel>"
HOSTILE = "1b5b33316d5245441b5b306d206e756c0062797465206261642dff2d75746638203c216368616e6e656c3e"
LABELS = {"alertname": "InferenceDeploymentUnhealthy", "project_id": "1", "deployment": "prod-a", "region_id": "7",
          "severity": "warning"}


def notifications(sink, status=None):
    out = []
    for x in sink.deliveries():
        n = h.body(x)
        if n.get("groupLabels", {}).get("deployment") == "prod-a" and (status is None or n["status"] == status):
            out.append(n)
    return out


def main(t):
    if not os.access(ALERTMANAGER, os.X_OK):
        t.skip_all("%s is not installed (Debian package prometheus-alertmanager)" % ALERTMANAGER)
    scenario = {"regions": [{"id": 7, "display_name": "Luxembourg-2"}],
                "deployments": [{"project_id": 1, "name": "prod-a", "regions": [1, 7]}]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        am = Alertmanager(sink.hook_url("/alertmanager"))
        wh = h.webhook("am", am.url, format="alertmanager")
        confs = [h.config(sim, iw.tmpdir("state-%d-" % i), [{"id": 1, "deployments": ["prod-a"]}], [wh])
                 for i in (1, 2)]
        daemons = [h.start(c) for c in confs]
        for d in daemons:
            iw.wait_until(lambda: any(e["type"] == "deployment.discovered" for e in h.events(d)), 15, "discovery")

        # Hostile log bytes (ESC sequences, NUL, invalid UTF-8, a mention), and a 1 MB line.
        sim.add_logs(1, "prod-a", 7, [{"hex": HOSTILE}, {"hex": "41", "repeat": 1 << 20}])
        sim.set(1, "prod-a", status="PARTIALLYDEPLOYED",
                containers=[{"region_id": 1, "ready": 1}, {"region_id": 7, "ready": 0, "error_message": "Failed to pull image"}])
        for d in daemons:
            iw.wait_until(lambda: any(e["type"] == "alert.firing" for e in h.events(d)), 15, "alert.firing")
        for c in confs:
            iw.wait_until(lambda: h.webhook_status(c, "am")["delivered"] >= 1, 15, "the alert posted to Alertmanager")
        posted = time.time()
        firing = iw.wait_until(lambda: notifications(sink, "firing"), 15, "Alertmanager's firing notification")[0]
        t.eq([a["labels"] for a in firing["alerts"]], [LABELS],
             "Alertmanager notifies the alert firing with the deployment's labels")
        t.ok(firing["alerts"][0]["status"] == "firing" and firing["receiver"] == "sink"
             and firing["groupLabels"] == {"alertname": LABELS["alertname"], "deployment": "prod-a"},
             "firing, grouped by alertname and deployment", firing)
        t.eq(firing["alerts"][0]["annotations"].get("description"), "region 7: Failed to pull image",
             "the annotations carry the reason")
        held = [a for a in am.alerts() if a["labels"].get("deployment") == "prod-a"]
        t.eq(len(held), 1, "Alertmanager holds one alert for the two instances' posts")
        # Give Alertmanager two more group intervals to send a second notification, if it would.
        iw.wait_until(lambda: time.time() > posted + GROUP_WAIT + 2 * GROUP_INTERVAL + 0.5, 10, "two group intervals")
        t.eq(len(notifications(sink, "firing")), 1, "two inferwatchd instances: one firing notification, not two")
        # The failing region's last log lines, as an annotation, kept by the re-posts since.
        held = [a for a in am.alerts() if a["labels"].get("deployment") == "prod-a"]
        tail = held[0]["annotations"].get("log_tail", "") if held else ""
        t.ok("Back-off: Failed to pull image" in tail and "-r7-" in tail and "-r1-" not in tail,
             "Alertmanager's API shows region 7's log tail annotation, after re-posts", held)
        lines = tail.encode("utf-8").split(b"\n")
        t.ok(b"RED nul?byte bad-\xef\xbf\xbd-utf8 <!channel>" in tail.encode("utf-8")
             and not any(c < 0x20 or c == 0x7f for c in tail.encode("utf-8").replace(b"\n", b"")),
             "the annotation's hostile line neutralised: escapes gone, NUL '?', invalid UTF-8 U+FFFD", tail[:600])
        t.ok(len(tail.encode("utf-8")) <= 3000 and all(len(x) <= 320 for x in lines)
             and any(x.endswith(b"AAAA\xe2\x80\xa6") for x in lines),
             "the annotation's lines capped, the 1 MB line cut", [len(x) for x in lines])
        t.eq(held[0]["annotations"].get("region_names") if held else None, "Luxembourg-2 (7)",
             "Alertmanager's API shows the region's name annotation, after re-posts", str(held))

        sim.set(1, "prod-a", status="ACTIVE", ready=1, containers=[{"region_id": 7, "error_message": None}])
        for d in daemons:
            iw.wait_until(lambda: any(e["type"] == "alert.resolved" for e in h.events(d)), 15, "alert.resolved")
        resolved = iw.wait_until(lambda: notifications(sink, "resolved"), 20, "the resolved notification")[0]
        t.eq([(a["status"], a["labels"]) for a in resolved["alerts"]], [("resolved", LABELS)],
             "then resolved, same labels")
        t.ok(resolved["alerts"][0]["endsAt"] > resolved["alerts"][0]["startsAt"], "with an endsAt after its start")
        for i, c in enumerate(confs):
            # --status reads state.json, where delivery figures arrive by the lazy save (about a
            # second after the answer): wait for both deliveries, not only for an empty backlog.
            s = iw.wait_until(lambda: (lambda s: s if s["backlog"] == 0 and s["delivered"] >= 2 else None)(
                h.webhook_status(c, "am")), 10, "--status to show both deliveries")
            t.ok(s["delivered"] == 2 and s["dropped"] == 0 and s["last_result"] == "HTTP 200",
                 "instance %d: Alertmanager accepted firing and resolved" % (i + 1), s)
        for i, d in enumerate(daemons):
            h.stop(t, d, "inferwatchd %d" % (i + 1))
        am.stop()


iw.run(main)
