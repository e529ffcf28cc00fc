"""/metrics of the real daemon watching the simulator, served on a socket passed as systemd's
socket activation does: the values follow the scenario's transitions (health state set, ready
instances per region, region errors, the open alert, events, webhook retries), every scrape is
a valid exposition for promtool, and bad requests (unknown paths, other methods, garbage, a
stalled client, a thousand connections at once) get errors while polling goes on."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
import metricslib as ml  # noqa: E402
from hooklib import iw  # noqa: E402

CONTEXT = "inferwatch_api_context_requests_total"
INFO = "inferwatch_deployment_region_error_info"
# A crash-loop whose text changes at every poll, with what a hostile API could put in it.
CRASH = ('Back-off %s restarting failed container=llm pod=llm-7d9f8b6c5-%s_default \x1b[31m"red"\\ '
         '\u202edlrow\nreason: ' + "overlong " * 40)
ERROR = {"status": "PARTIALLYDEPLOYED",
         "containers": [{"region_id": 1, "ready": 1}, {"region_id": 7, "ready": 0, "error_message": "Failed to pull image"}]}


def samples_when(port, what, cond, timeout=15):
    """Scrapes until cond(samples) holds; returns (samples, text)."""
    last = {}

    def probe():
        r = ml.scrape(port)
        last["text"] = r.body.decode()
        s = ml.parse(last["text"])
        return (s, last["text"]) if cond(s) else None
    return iw.wait_until(probe, timeout, what)


def error_info(s, name):
    """The region error info series of deployment name: [(region, signature)] with value 1."""
    return sorted((k["region"], k["signature"]) for k, v in map(lambda kv: (dict(kv[0]), kv[1]),
                                                                 ml.family(s, INFO).items())
                  if k["deployment"] == name and v == 1)


def check_promtool(t, text, what):
    rc, out = ml.promtool_check(text)
    t.ok(rc == 0 and out.strip() == "", "promtool check metrics: %s" % what, out[-2000:] or None)


def main(t):
    if not os.access(ml.PROMTOOL, os.X_OK):
        t.skip_all("%s is not installed (Debian package prometheus)" % ml.PROMTOOL)
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a", "regions": [1, 7]},
                                {"project_id": 1, "name": 'we\\ird"name', "regions": [1]}]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        sink.behave(status=503, count=2)
        wh = h.webhook("hook", sink.hook_url())
        conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["prod-a", 'we\\ird"name']}], [wh])
        d, port = ml.start(conf)
        a = ml.deployment("prod-a")

        s, text = samples_when(port, "both deployments healthy", lambda s: (
            ml.value(s, "inferwatch_deployment_health", health="healthy", **a) == 1 and
            ml.value(s, "inferwatch_deployment_health", health="healthy", **ml.deployment('we\\ird"name')) == 1 and
            ml.value(s, "inferwatch_events_total", type="deployment.discovered") == 2 and
            ml.value(s, CONTEXT, account="default", kind="regions", outcome="ok") == 1))
        t.eq(sorted(v for k, v in ml.family(s, "inferwatch_deployment_health").items() if dict(k)["deployment"] == "prod-a"),
             [0.0] * 8 + [1.0], "the health state set: one state at 1, the other eight at 0")
        t.eq(ml.value(s, "inferwatch_deployment_status", status="ACTIVE", **a), 1.0, "status ACTIVE is 1")
        t.eq(ml.value(s, "inferwatch_deployment_region_ready_instances", region=7, **a), 1.0, "1 instance ready in region 7")
        t.eq(ml.value(s, "inferwatch_deployment_region_error", region=7, **a), 0.0, "no error in region 7")
        t.eq(ml.value(s, "inferwatch_deployment_alert_open", **a), 0.0, "no alert open")
        t.eq(ml.value(s, "inferwatch_api_up", account="default"), 1.0, "the API is up")
        t.ok((ml.value(s, "inferwatch_api_requests_total", account="default", outcome="ok") or 0) >= 2,
             "API requests counted as ok")
        t.eq(ml.value(s, "inferwatch_events_total", type="deployment.discovered"), 2.0, "2 deployment.discovered events")
        t.eq(ml.value(s, "inferwatch_build_info", version=iw.run_once("", ["--version"])[1].split()[-1]), 1.0,
             "build info carries the version")
        t.ok((ml.value(s, "process_resident_memory_bytes") or 0) > 0 and
             ml.value(s, "process_start_time_seconds") > time.time() - 600, "process metrics from /proc/self")
        t.eq({(k["kind"], k["outcome"]): v for k in map(dict, ml.family(s, CONTEXT)) for v in [ml.value(s, CONTEXT, **k)]},
             {("regions", "ok"): 1.0, ("regions", "failed"): 0.0, ("logs", "ok"): 0.0, ("logs", "failed"): 0.0,
              ("capacity", "ok"): 0.0, ("capacity", "failed"): 0.0},
             "context requests: the region directory once, no log tail or capacity yet")
        t.eq(error_info(s, "prod-a"), [], "no region error info series without an error")
        check_promtool(t, text, "a quoted and backslashed deployment name, escaped")

        sim.set(1, "prod-a", **ERROR)
        # Events are counted when handed to the sinks, which may come a little after the state.
        s, text = samples_when(port, "the alert open", lambda s: (
            ml.value(s, "inferwatch_deployment_alert_open", **a) == 1 and
            ml.value(s, "inferwatch_events_total", type="alert.firing") == 1))
        t.eq(ml.value(s, "inferwatch_deployment_health", health="degraded", **a), 1.0, "health degraded is 1")
        t.eq((ml.value(s, CONTEXT, account="default", kind="logs", outcome="ok"),
              ml.value(s, CONTEXT, account="default", kind="logs", outcome="failed")), (1.0, 0.0),
             "context requests: one log tail for container.error and alert.firing, fetched")
        t.eq(ml.value(s, "inferwatch_deployment_health", health="healthy", **a), 0.0, "health healthy is 0")
        t.eq(ml.value(s, "inferwatch_deployment_status", status="PARTIALLYDEPLOYED", **a), 1.0, "status PARTIALLYDEPLOYED")
        t.eq(ml.value(s, "inferwatch_deployment_region_ready_instances", region=7, **a), 0.0, "0 ready in region 7")
        t.eq(ml.value(s, "inferwatch_deployment_region_error", region=7, **a), 1.0, "region 7 reports an error")
        t.eq(error_info(s, "prod-a"), [("7", "Failed to pull image")],
             "the region error info: region 7, the error's signature as a label")
        started = ml.value(s, "inferwatch_deployment_alert_start_time_seconds", severity="warning", **a)
        t.ok(started and time.time() - 60 < started <= time.time(), "the alert's start time, severity warning", started)
        t.eq(ml.value(s, "inferwatch_events_total", type="alert.firing"), 1.0, "one alert.firing event")
        s, text = samples_when(port, "the webhook's failed attempts", lambda s: (
            ml.value(s, "inferwatch_webhook_failed_attempts_total", webhook="hook") == 2 and
            ml.value(s, "inferwatch_webhook_backlog_events", webhook="hook") == 0))
        delivered = ml.value(s, "inferwatch_webhook_deliveries_total", webhook="hook", result="delivered")
        t.eq(delivered, float(len([x for x in sink.deliveries() if x["status"] == 200])),
             "deliveries counted as the sink answered them")
        check_promtool(t, text, "with an alert, a region error and webhook retries")

        # Bad input. Nothing of the exposition leaks to other paths.
        for path in ("/nope", "/metrics/", "/metrics?x=1&" + "a" * 100):
            r = ml.scrape(port, path)
            ok = r.status == 404 if path != "/metrics?x=1&" + "a" * 100 else r.status == 200
            t.ok(ok and (r.status == 200 or b"inferwatch_" not in r.body), "GET %s: %d" % (path[:20], r.status))
        r = iw.http_request(port, "POST", "/metrics", body="x")
        t.eq(r.status, 405, "POST /metrics: 405")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"\x01\x02 garbage\r\n\r\n")
            answer = c.recv(200)
        t.ok(answer.startswith(b"HTTP/1.1 400"), "garbage: 400", answer)

        # A stalled client and a thousand connections at once: the rest is still served.
        stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
        stalled.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        stalled_at = time.monotonic()
        polls = sim.counters()
        crowd = []
        for _ in range(1000):
            try:
                crowd.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            except OSError:
                break
        t.eq(len(crowd), 1000, "1000 connections opened")
        for c in crowd[:200]:
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        iw.wait_until(lambda: sim.counters() != polls, 15, "polling to go on")
        for c in crowd:
            c.close()
        # The stalled client is cut off by the daemon's idle timeout (10 s), not kept for ever.
        stalled.settimeout(40)
        try:
            cut = stalled.recv(200)
        except OSError as e:
            cut = repr(e)
        took = time.monotonic() - stalled_at
        t.ok(cut == b"" or (isinstance(cut, bytes) and cut.startswith(b"HTTP/1.1 408")),
             "a stalled client is disconnected after %.1f s of silence" % took, cut)
        stalled.close()
        s, text = samples_when(port, "a scrape after the crowd", lambda s: True)
        t.ok(ml.value(s, "process_open_fds") < 100,
             "the daemon's connections were closed (%d fds open)" % ml.value(s, "process_open_fds"))
        rss = ml.value(s, "process_resident_memory_bytes")
        t.ok(rss < 64 << 20, "resident memory stays under 64 MiB (%.1f MiB)" % (rss / 1048576))
        t.eq(ml.value(s, "inferwatch_api_up", account="default"), 1.0, "the API is still up")

        sim.set(1, "prod-a", status="ACTIVE", ready=1, containers=[{"region_id": 7, "error_message": None}])
        s, text = samples_when(port, "the alert resolved", lambda s: (
            ml.value(s, "inferwatch_deployment_alert_open", **a) == 0 and
            ml.value(s, "inferwatch_events_total", type="alert.resolved") == 1))
        t.eq(ml.value(s, "inferwatch_deployment_health", health="healthy", **a), 1.0, "healthy again")
        t.eq(ml.value(s, "inferwatch_deployment_alert_start_time_seconds", severity="warning", **a), None,
             "no start time once resolved")
        t.eq(ml.value(s, "inferwatch_events_total", type="alert.resolved"), 1.0, "one alert.resolved event")
        t.eq(error_info(s, "prod-a"), [], "the region error info series is gone after the recovery")

        # A crash-loop: one series for the incident (the signature), whatever the text of each poll.
        sim.set(1, "prod-a", status="PARTIALLYDEPLOYED",
                containers=[{"region_id": 7, "ready": 0, "error_message": CRASH % ("10s", "q2x7m")}])
        s, text = samples_when(port, "the crash-loop's info series", lambda s: error_info(s, "prod-a"))
        first = error_info(s, "prod-a")
        check_promtool(t, text, "an error signature with control characters, quotes and backslashes")
        for backoff, pod in (("20s", "8kzlw"), ("40s", "x5v2t")):
            n = h.polls(sim, 1, "prod-a")
            sim.set(1, "prod-a", status="PARTIALLYDEPLOYED",
                    containers=[{"region_id": 7, "ready": 0, "error_message": CRASH % (backoff, pod)}])
            iw.wait_until(lambda: h.polls(sim, 1, "prod-a") >= n + 2, 15, "two polls of the new text")
            s, text = samples_when(port, "a scrape", lambda s: True)
            t.eq(error_info(s, "prod-a"), first, "back-off %s, pod %s: the same one series" % (backoff, pod))
        sig = first[0][1]
        print("# signature label: %r (%d bytes)" % (sig, len(sig.encode())))
        t.ok(sig.startswith("Back-off") and "restarting failed container=llm" in sig and "10s" not in sig
             and "q2x7m" not in sig, "the label is the signature: the text without the back-off and the pod", diag=sig)
        t.ok(len(sig.encode()) <= 200 and sig.endswith(" [... cut]"), "the label is cut to 200 bytes", diag=sig)
        t.ok(not any(c in sig for c in "\x1b\u202e\n") and "\\x1b" in sig and "\\xe2\\x80\\xae" in sig
             and '"red"\\' in sig,
             "control characters escaped in the label (quotes and backslashes kept, escaped in the exposition)",
             diag=sig)
        sim.set(1, "prod-a", status="ACTIVE", ready=1, containers=[{"region_id": 7, "error_message": None}])
        s, text = samples_when(port, "the crash-loop's end", lambda s: not error_info(s, "prod-a"))
        t.eq(error_info(s, "prod-a"), [], "no info series once the region has no error")
        h.stop(t, d)

        # The same from the configuration instead of systemd's socket.
        d = h.start(conf + 'metrics = { listen = "127.0.0.1:0"; };\n')
        line = iw.wait_until(lambda: [m for m in h.messages(d) if m and m.startswith("Serving /metrics on port ")], 15,
                             "the port in the log")[0]
        s, text = samples_when(int(line.split()[-1]), "metrics.listen serves", lambda s: (
            ml.value(s, "inferwatch_deployment_health", health="healthy", **a) is not None))
        t.eq(ml.value(s, "inferwatch_deployment_health", health="healthy", **a), 1.0,
             "metrics { listen = \"127.0.0.1:0\"; } serves the exposition: prod-a healthy")
        h.stop(t, d)


iw.run(main)
