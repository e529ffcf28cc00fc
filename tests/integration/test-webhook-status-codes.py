"""What the receiver's answer does: 400 drops the event (logged as webhook.dropped with the status
and an excerpt of the body) and delivery goes on; 429 with Retry-After: 3 delays the next attempt
by at least 3 s; a 200 with a body larger than the daemon reads is a delivery (not retried);
a redirect (http to https) is not followed: webhook.dropped says it was one and to which
scheme and host, without the rest of the Location (it may hold secrets); 410 disables the webhook, keeps later events in the spool and delivers nothing
more. --status follows along."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402


def at_least(n, fn, what):
    return iw.wait_until(lambda: (lambda g: g if len(g) >= n else None)(fn()), 15, what)


def main(t):
    state = iw.tmpdir("state-")
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a", "regions": [1, 7]}]}
    with iw.Sim(scenario) as sim, iw.Sink(secret="k") as sink, iw.Sink() as healthy:
        wh = h.webhook("hook", sink.hook_url(), secret="k", retry_max_interval="1s")
        # The same events to a receiver that always answers 200: when it has one, "hook" had
        # its chance to deliver it too.
        control = h.webhook("control", healthy.hook_url())
        conf = h.config(sim, state, [{"id": 1, "deployments": ["prod-a"]}], [wh, control])
        sink.behave(status=400, count=1, body='{"error":"bad payload",\n"detail":"' + "x" * 500 + '"}')
        d = h.start(conf)

        def logged(kind, n=1):
            return at_least(n, lambda: [e for e in h.events(d, True) if e["type"] == kind], kind)[n - 1]

        with t.case("400: dropped, logged, delivery goes on"):
            dropped = logged("webhook.dropped")
            reason = dropped["data"]["reason"]
            t.ok(reason.startswith('HTTP 400: {"error":"bad payload", "detail":"xxx'),
                 "webhook.dropped names the status and the body (control characters blanked)", reason)
            t.ok(len(reason) < 300, "... only an excerpt of it (%d characters)" % len(reason))
            t.ok(dropped["priority"] == "warning" and dropped["data"]["webhook"] == "hook"
                 and dropped["data"]["count"] == 1 and "dropped" in dropped["message"], "its fields", dropped)
            got = at_least(2, sink.deliveries, "two deliveries")
            evs = h.events(d)
            t.eq([(x["status"], x["headers"]["webhook-id"]) for x in got[:2]],
                 [(400, evs[0]["id"]), (200, evs[1]["id"])],
                 "the refused event is not retried: the next one follows at once")
            iw.wait_until(lambda: h.webhook_status(conf, "hook")["dropped"] == 1, 10, "--status dropped 1")

        with t.case("429 with Retry-After: 3"):
            sink.behave(status=429, count=1, retry_after="3")
            n = len(sink.deliveries())
            sim.set(1, "prod-a", image="vllm/vllm-openai:v0.6.4")
            changed = logged("deployment.spec_changed")
            got = at_least(2, lambda: sink.deliveries(n), "the retry after the 429")
            t.eq([(x["status"], x["headers"]["webhook-id"]) for x in got[:2]],
                 [(429, changed["id"]), (200, changed["id"])], "the throttled event is retried")
            gap = (got[1]["time_us"] - got[0]["time_us"]) / 1e6
            t.ok(3.0 <= gap < 6.0, "the retry came %.3f s later: at least Retry-After's 3 s" % gap)
            t.diag("429 → retry after %.3f s" % gap)

        with t.case("200 with a body larger than the daemon reads: delivered once"):
            sink.behave(status=200, count=1, body="y" * (256 * 1024))
            n = len(sink.deliveries())
            sim.set(1, "prod-a", image="vllm/vllm-openai:v0.6.4-big")
            big = logged("deployment.spec_changed", 2)
            iw.wait_until(lambda: big["id"] in h.ids(healthy.deliveries()), 10, "the control webhook to get it")
            iw.wait_until(lambda: h.webhook_status(conf, "hook")["backlog"] == 0, 10, "--status backlog 0")
            t.eq([(x["status"], x["headers"]["webhook-id"]) for x in sink.deliveries(n)], [(200, big["id"])],
                 "answered 200 with 256 KiB: delivered, not retried")

        with t.case("301 to https: dropped, the reason says where to"):
            sink.behave(status=301, count=1, location="https://user:s3cret@hooks.example.com:8443/in?token=t0ken")
            n = len(sink.deliveries())
            sim.set(1, "prod-a", image="vllm/vllm-openai:v0.6.4-moved")
            moved = logged("deployment.spec_changed", 3)
            reason = logged("webhook.dropped", 2)["data"]["reason"]
            t.eq(reason, "HTTP 301: a redirect to https://hooks.example.com:8443, not followed: set the webhook's "
                 "url to where the receiver is", "webhook.dropped says it was a redirect, and to which origin")
            t.ok(not any(x in reason for x in ("s3cret", "t0ken", "user", "/in")),
                 "nothing of the Location past its origin is echoed", reason)
            t.eq([(x["status"], x["headers"]["webhook-id"]) for x in sink.deliveries(n)[:1]], [(301, moved["id"])],
                 "the redirected event was sent once, not re-sent")

        with t.case("410: disabled, events kept in the spool"):
            sink.behave(status=410)
            n = len(sink.deliveries())
            sim.set(1, "prod-a", image="vllm/vllm-openai:v0.6.5")
            gone = logged("deployment.spec_changed", 4)
            disabled = logged("webhook.disabled")
            t.ok(disabled["priority"] == "err" and disabled["data"]["webhook"] == "hook"
                 and disabled["data"]["http_status"] == 410, "webhook.disabled is logged", disabled)
            sink.normal()
            sim.set(1, "prod-a", image="vllm/vllm-openai:v0.6.6")
            later = logged("deployment.spec_changed", 5)
            iw.wait_until(lambda: later["id"] in h.ids(healthy.deliveries()), 10, "the control webhook to get it")
            t.eq([(x["status"], x["headers"]["webhook-id"]) for x in sink.deliveries(n)], [(410, gone["id"])],
                 "the 410 was the last request: nothing delivered after it")
            t.eq(h.spool_ids(state, "hook"), [gone["id"], later["id"]],
                 "the refused event and the later one wait in the spool")
            delivered = len(h.events(d)) - 4
            s = iw.wait_until(lambda: (lambda s: s if s["backlog"] == 2 else None)(h.webhook_status(conf, "hook")),
                              10, "--status backlog 2")
            t.ok(s["disabled"] and s["dropped"] == 2 and s["delivered"] == delivered
                 and s["last_result"] == "HTTP 410, disabled",
                 "--status: disabled, backlog 2, dropped 2, delivered %d" % delivered, s)
            c = h.webhook_status(conf, "control")
            t.ok(not c["disabled"] and c["dropped"] == 0 and c["last_result"] == "HTTP 200",
                 "the other webhook is unaffected", c)
        h.stop(t, d)


iw.run(main)
