"""format = "slack": every delivery is an incoming-webhook message with a "text" fallback and Block
Kit "blocks" (a mrkdwn section, a fields section, a context line) within Slack's limits, even
when the API hands over a huge error message full of mrkdwn control characters."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

# What a registry might say, plus what would ping a whole channel if passed through unescaped.
HUGE = ("<!channel> pull of <registry.example.com/team/model:latest> failed & retried: " + "denied; " * 600)


def text_ok(s, limit):
    return isinstance(s, str) and 0 < len(s) <= limit


def escaped(s):
    """No raw < or > (Slack's link and mention syntax) and every & starts an entity."""
    return "<" not in s and ">" not in s and not re.search(r"&(?!amp;|lt;|gt;)", s)


def check_message(t, m, e):
    """One Slack message m for event e (its envelope from the daemon's log)."""
    what = e["type"] + (" " + e["deployment"] if e.get("deployment") else "")
    blocks = m.get("blocks")
    ok = text_ok(m.get("text"), 3000) and isinstance(blocks, list) and 0 < len(blocks) <= 50
    if not t.ok(ok, "%s: text (≤ 3000) and 1..50 blocks" % what, m):
        return
    if e.get("deployment"):
        t.ok(e["deployment"] in m["text"], "%s: the text names the deployment" % what, m["text"])
    first = blocks[0]
    t.ok(first.get("type") == "section" and first["text"]["type"] == "mrkdwn"
         and text_ok(first["text"]["text"], 3000), "%s: a mrkdwn section first" % what, first)
    fields = [b for b in blocks if b.get("type") == "section" and "fields" in b]
    t.ok(len(fields) == 1 and 0 < len(fields[0]["fields"]) <= 10
         and all(f["type"] == "mrkdwn" and text_ok(f["text"], 2000) for f in fields[0]["fields"]),
         "%s: a section of 1..10 mrkdwn fields, each ≤ 2000" % what, fields)
    ctx = blocks[-1]
    t.ok(ctx.get("type") == "context" and 0 < len(ctx["elements"]) <= 10
         and all(el["type"] == "mrkdwn" and text_ok(el["text"], 3000) for el in ctx["elements"])
         and e["id"] in ctx["elements"][0]["text"] and e["type"] in ctx["elements"][0]["text"],
         "%s: a context line with the type and id" % what, ctx)
    texts = [m["text"], first["text"]["text"]] + [f["text"] for b in fields for f in b["fields"]]
    t.ok(all(escaped(s) for s in texts), "%s: &, < and > are escaped" % what, texts)


def main(t):
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a", "status": "DEPLOYING", "regions": [1, 7]}]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        wh = h.webhook("slack", sink.hook_url(), format="slack")
        d = h.start(h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["prod-a"]}], [wh]))
        iw.wait_until(lambda: any(e["type"] == "deployment.discovered" for e in h.events(d)), 15, "discovery")
        sim.set(1, "prod-a", status="PARTIALLYDEPLOYED",
                containers=[{"region_id": 1, "ready": 1}, {"region_id": 7, "ready": 0, "error_message": HUGE}])
        iw.wait_until(lambda: any(e["type"] == "alert.firing" for e in h.events(d)), 15, "alert.firing")
        sim.set(1, "prod-a", status="ACTIVE", ready=1, containers=[{"region_id": 7, "error_message": None}])
        iw.wait_until(lambda: any(e["type"] == "alert.resolved" for e in h.events(d)), 15, "alert.resolved")
        iw.wait_until(lambda: len(sink.deliveries()) == len(h.events(d)), 15, "every event delivered")

        logged = h.events(d)
        got = sink.deliveries()
        t.eq([x["status"] for x in got], [200] * len(logged), "one message per event")
        t.ok(all(x["headers"]["content-type"] == "application/json" for x in got), "sent as application/json")
        for x, e in zip(got, logged):
            check_message(t, h.body(x), e)

        err = next(h.body(x) for x, e in zip(got, logged) if e["type"] == "container.error")
        fields = {f["text"].split("\n", 1)[0]: f["text"].split("\n", 1)[1] for f in err["blocks"][1]["fields"]}
        t.eq({k: v for k, v in fields.items() if k != "*Error*"},
             {"*Deployment*": "prod-a", "*Project*": "1", "*Status*": "PARTIALLYDEPLOYED", "*Health*": "degraded",
              "*Region*": "7 (0/1 ready)", "*Priority*": "err"}, "container.error: its fields")
        t.ok(fields["*Error*"].startswith("&lt;!channel&gt; pull of &lt;registry.example.com/team/model:latest&gt; "
                                          "failed &amp; retried: denied;") and fields["*Error*"].endswith("…"),
             "container.error: the error, escaped, cut with an ellipsis", fields["*Error*"][:200])
        t.ok(err["text"].startswith(":red_circle: prod-a (project 1): region 7: &lt;!channel&gt;"),
             "container.error: the text is the event's line, with an icon", err["text"][:120])
        resolved = next(h.body(x) for x, e in zip(got, logged) if e["type"] == "alert.resolved")
        t.ok(resolved["text"].startswith(":large_green_circle: prod-a (project 1): alert resolved"),
             "alert.resolved: green", resolved["text"])
        h.stop(t, d)


iw.run(main)
