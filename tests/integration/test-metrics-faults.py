"""/metrics during a webhook outage and an API outage, with the real daemon against the simulator
and the sink: the figures test-metrics.py leaves unasserted. Wanted instances per region beside
the ready ones; the request duration histogram consistent with the request counts; the webhook's
backlog (events, bytes, oldest event's time) while the receiver fails and once it drained, and
--status showing the same figures within an interval; per account the API up, backoff and
consecutive failures during the outage, the outcome counted, and the deployment's last
observation frozen until the API answers again. Every scrape is a valid exposition for
promtool."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
import metricslib as ml  # noqa: E402
from hooklib import iw  # noqa: E402

ERROR = {"status": "PARTIALLYDEPLOYED",
         "containers": [{"region_id": 1, "ready": 1}, {"region_id": 7, "ready": 0, "error_message": "Failed to pull image"}]}
HIST = "inferwatch_api_request_duration_seconds"
OBSERVED = "inferwatch_deployment_last_observation_timestamp_seconds"


def samples_when(port, what, cond, timeout=20):
    """Scrapes until cond(samples) holds; returns (samples, text)."""
    def probe():
        text = ml.scrape(port).body.decode()
        s = ml.parse(text)
        return (s, text) if cond(s) else None
    return iw.wait_until(probe, timeout, what)


def check_promtool(t, text, what):
    rc, out = ml.promtool_check(text)
    t.ok(rc == 0 and out.strip() == "", "promtool check metrics: %s" % what, out[-2000:] or None)


def requests(s, outcome=None):
    return sum(v for k, v in ml.family(s, "inferwatch_api_requests_total").items()
               if outcome is None or dict(k)["outcome"] == outcome)


def main(t):
    if not os.access(ml.PROMTOOL, os.X_OK):
        t.skip_all("%s is not installed (Debian package prometheus)" % ml.PROMTOOL)
    with iw.Sim({"deployments": [{"project_id": 1, "name": "prod-a", "regions": [1, 7]}]}) as sim, iw.Sink() as sink:
        conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["prod-a"]}],
                        [h.webhook("hook", sink.hook_url())], unreachable_after=2)
        started = time.time()
        d, port = ml.start(conf)
        a = ml.deployment("prod-a")
        acc = {"account": "default"}
        hook = {"webhook": "hook"}

        s, _ = samples_when(port, "prod-a healthy, its discovery delivered", lambda s: (
            ml.value(s, "inferwatch_deployment_health", health="healthy", **a) == 1 and
            ml.value(s, "inferwatch_webhook_deliveries_total", result="delivered", **hook) >= 1 and
            ml.value(s, "inferwatch_webhook_backlog_events", **hook) == 0))
        t.eq((ml.value(s, "inferwatch_deployment_region_ready_instances", region=7, **a),
              ml.value(s, "inferwatch_deployment_region_instances", region=7, **a)), (1.0, 1.0),
             "healthy: region 7 has 1 instance wanted, 1 ready")
        buckets = sorted((float(dict(k)["le"]), v) for k, v in ml.family(s, HIST + "_bucket").items())
        count = ml.value(s, HIST + "_count", **acc)
        t.ok(count == requests(s) >= 1 and buckets[-1] == (float("inf"), count) and
             all(x[1] <= y[1] for x, y in zip(buckets, buckets[1:])) and 0 < ml.value(s, HIST + "_sum", **acc) < 2 * count,
             "the duration histogram: one observation per request counted (%d), cumulative buckets" % (count or 0),
             buckets)
        seen = ml.value(s, OBSERVED, **a)
        t.ok(seen and started - 1 <= seen <= time.time() + 1, "the last observation is a recent time", seen)
        t.eq((ml.value(s, "inferwatch_webhook_backlog_bytes", **hook),
              ml.value(s, "inferwatch_webhook_oldest_event_timestamp_seconds", **hook)), (0.0, None),
             "nothing waits: 0 bytes, no oldest event")

        # The receiver fails: what the incident emits waits in the spool.
        sink.behave(status=503, duration=120)
        broke = time.time()
        delivered = ml.value(s, "inferwatch_webhook_deliveries_total", result="delivered", **hook)
        sim.set(1, "prod-a", **ERROR)
        s, text = samples_when(port, "the incident's events in the backlog", lambda s: (
            ml.value(s, "inferwatch_deployment_alert_open", **a) == 1 and
            ml.value(s, "inferwatch_webhook_backlog_events", **hook) >= 2 and
            ml.value(s, "inferwatch_webhook_failed_attempts_total", **hook) >= 1))
        t.eq((ml.value(s, "inferwatch_deployment_region_ready_instances", region=7, **a),
              ml.value(s, "inferwatch_deployment_region_instances", region=7, **a)), (0.0, 1.0),
             "the error: region 7 has 1 instance wanted, 0 ready")
        broke_seen = time.time()
        backlog = ml.value(s, "inferwatch_webhook_backlog_events", **hook)
        size = ml.value(s, "inferwatch_webhook_backlog_bytes", **hook)
        t.ok(size >= 200 * backlog, "backlog: %d events, %d bytes (at least 200 a JSON event)" % (backlog, size))
        oldest = ml.value(s, "inferwatch_webhook_oldest_event_timestamp_seconds", **hook)
        t.ok(oldest and broke - 1 <= oldest <= time.time() + 1,
             "the oldest undelivered event's time: after the receiver broke (%.1f s after)" % ((oldest or 0) - broke))
        t.eq(ml.value(s, "inferwatch_webhook_deliveries_total", result="delivered", **hook), delivered,
             "nothing counted delivered while the receiver fails")
        check_promtool(t, text, "with a webhook backlog")
        failed = ml.value(s, "inferwatch_webhook_failed_attempts_total", **hook)
        s, _ = samples_when(port, "another failed attempt", lambda s: (
            ml.value(s, "inferwatch_webhook_failed_attempts_total", **hook) > failed))
        t.eq(ml.value(s, "inferwatch_webhook_oldest_event_timestamp_seconds", **hook), oldest,
             "a retry later, the oldest event's time has not moved")

        # --status reads the state file: the live daemon and the same webhook figures within an
        # interval (hooklib's GLOBALS: 3 s), the figures scraped meanwhile as the reference.
        def agree():
            m = ml.parse(ml.scrape(port).body.decode())
            js = h.status(conf)
            w = next(x for x in js["webhooks"] if x["name"] == "hook")
            same = (w["backlog"], w["delivered"]) == (
                ml.value(m, "inferwatch_webhook_backlog_events", **hook),
                ml.value(m, "inferwatch_webhook_deliveries_total", result="delivered", **hook))
            return (js, w) if same and w["retrying"] > 0 else None
        js, w = iw.wait_until(agree, 20, "--status to show the webhook's figures")
        took = time.time() - broke_seen
        t.ok(js["running"] is True and js["daemon_pid"] == d.pid and took <= 3 + 2,
             "--status: the daemon running, backlog %d and retrying as /metrics says, %.1f s after" % (w["backlog"], took),
             js)

        sink.normal()
        s, _ = samples_when(port, "the backlog drained", lambda s: (
            ml.value(s, "inferwatch_webhook_backlog_events", **hook) == 0), timeout=30)
        t.eq((ml.value(s, "inferwatch_webhook_backlog_bytes", **hook),
              ml.value(s, "inferwatch_webhook_oldest_event_timestamp_seconds", **hook)), (0.0, None),
             "drained: 0 bytes, no oldest event")
        t.ok(ml.value(s, "inferwatch_webhook_deliveries_total", result="delivered", **hook) >= delivered + backlog,
             "the backlog counted delivered")

        # The API fails: down, backing off, failures counted; the observation time stands still.
        s, _ = samples_when(port, "the API up", lambda s: ml.value(s, "inferwatch_api_up", **acc) == 1)
        t.eq((ml.value(s, "inferwatch_api_backoff", **acc), ml.value(s, "inferwatch_api_consecutive_failures", **acc)),
             (0.0, 0.0), "API up: no backoff, no failure in a row")
        retryable = requests(s, "retryable")
        sim.fault("status", status=503, duration=300)
        s, text = samples_when(port, "the API down", lambda s: ml.value(s, "inferwatch_api_up", **acc) == 0, timeout=40)
        failures = ml.value(s, "inferwatch_api_consecutive_failures", **acc)
        t.eq(ml.value(s, "inferwatch_api_backoff", **acc), 1.0, "API down: backing off")
        t.ok(failures >= 2, "API down after unreachable_after = 2 failures in a row (%d)" % failures)
        t.ok(requests(s, "retryable") >= retryable + 2, "the 503s counted as outcome=\"retryable\"",
             (retryable, requests(s, "retryable")))
        frozen = ml.value(s, OBSERVED, **a)
        check_promtool(t, text, "with the API down")
        s, _ = samples_when(port, "another failed poll", lambda s: (
            ml.value(s, "inferwatch_api_consecutive_failures", **acc) > failures), timeout=40)
        t.eq(ml.value(s, OBSERVED, **a), frozen, "no successful poll: the last observation stands still")

        sim.clear_faults()
        s, _ = samples_when(port, "the API up again", lambda s: ml.value(s, "inferwatch_api_up", **acc) == 1, timeout=40)
        t.eq((ml.value(s, "inferwatch_api_backoff", **acc), ml.value(s, "inferwatch_api_consecutive_failures", **acc)),
             (0.0, 0.0), "API back: no backoff, no failure in a row")
        t.ok(ml.value(s, OBSERVED, **a) > frozen, "observed again after the outage")
        h.stop(t, d)


iw.run(main)
