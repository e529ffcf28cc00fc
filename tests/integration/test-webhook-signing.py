"""Standard Webhooks signatures, checked by the sink's own OpenSSL code on every attempt.

Four webhooks, each to its own sink: a raw secret and a whsec_ secret (both failing their first
attempts, so retries are signed too), a webhook signed with a secret its receiver does not know
(the sink must say "invalid": its check is not vacuous), and an unsigned one ("missing")."""

import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

RAW = "correct horse battery staple"
WHSEC = "whsec_" + base64.b64encode(bytes(range(7, 39))).decode()


def check_signed(t, name, deliveries, logged, n_failures):
    t.eq(h.collapse(h.ids(deliveries)), [e["id"] for e in logged], name + ": every event, in order")
    t.eq(sorted({d["signature"] for d in deliveries}), ["valid"],
         name + ": the sink verifies every signature, retries included")
    t.ok(all(d["timestamp_fresh"] for d in deliveries), name + ": every timestamp is fresh")
    t.ok(all(d["headers"]["webhook-id"] == h.body(d)["id"] for d in deliveries),
         name + ": webhook-id is the id of the JSON envelope")
    t.ok(all(d["headers"]["content-type"] == "application/json" for d in deliveries),
         name + ": Content-Type: application/json")
    t.ok(all(abs(int(d["headers"]["webhook-timestamp"]) - d["time_us"] / 1e6) < 2 for d in deliveries),
         name + ": each attempt is signed at its own time (timestamp within 2 s of arrival)",
         [(d["headers"]["webhook-timestamp"], d["time_us"]) for d in deliveries])
    first = deliveries[0]["headers"]["webhook-id"]
    attempts = [d for d in deliveries if d["headers"]["webhook-id"] == first]
    t.eq([d["status"] for d in attempts], [503] * n_failures + [200],
         name + ": the first event failed %d times, then went through" % n_failures)
    t.eq(len({d["body"] for d in attempts}), 1, name + ": the same body on every retry")
    stamps = [int(d["headers"]["webhook-timestamp"]) for d in attempts]
    sigs = [d["headers"]["webhook-signature"] for d in attempts]
    t.ok(stamps == sorted(stamps) and stamps[-1] > stamps[0] and len(set(sigs)) > 1,
         name + ": retries are re-signed with a newer timestamp", list(zip(stamps, sigs)))


def main(t):
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a", "status": "DEPLOYING", "regions": [1, 7]},
                                {"project_id": 1, "name": "dev-b"}]}
    with iw.Sim(scenario) as sim, iw.Sink(secret=RAW) as raw, iw.Sink(secret=WHSEC + "\n") as whsec, \
            iw.Sink(secret="the receiver's idea") as wrong, iw.Sink(secret=RAW) as unsigned:
        raw.behave(status=503, count=3)
        whsec.behave(status=503, count=2)
        hooks = [h.webhook("raw", raw.hook_url(), secret=RAW),
                 h.webhook("whsec", whsec.hook_url(), secret=WHSEC + "\n"),
                 h.webhook("wrong", wrong.hook_url(), secret=RAW),
                 h.webhook("unsigned", unsigned.hook_url())]
        conf = h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["prod-a", "dev-b"]}], hooks)
        d = h.start(conf)
        iw.wait_until(lambda: len(h.events(d)) >= 3, 15, "monitor.started and two discoveries")
        sim.set(1, "prod-a", status="PARTIALLYDEPLOYED",
                containers=[{"region_id": 1, "ready": 1}, {"region_id": 7, "error_message": "Failed to pull image"}])
        iw.wait_until(lambda: any(e["type"] == "alert.firing" for e in h.events(d)), 15, "alert.firing")

        def settled(sink):
            want = [e["id"] for e in h.events(d)]
            return h.collapse(h.ids(sink.deliveries())) == want
        for sink in (raw, whsec, wrong, unsigned):
            iw.wait_until(lambda: settled(sink), 30, "every event delivered to " + sink.url)
        logged = h.events(d)
        t.ok(len(logged) >= 8, "the rollout produced events (%d)" % len(logged))

        check_signed(t, "raw secret", raw.deliveries(), logged, 3)
        check_signed(t, "whsec_ secret (file ends with a newline)", whsec.deliveries(), logged, 2)

        got = wrong.deliveries()
        t.eq(sorted({x["signature"] for x in got}), ["invalid"], "another secret: the sink finds it invalid")
        got = unsigned.deliveries()
        t.eq(sorted({x["signature"] for x in got}), ["missing"], "no secret: no signature")
        t.ok(not any(k.startswith("webhook-") for x in got for k in x["headers"]),
             "no secret: no webhook-* headers at all")
        h.stop(t, d)


iw.run(main)
