"""Alerts that answer the next question: an image-pull incident in region 7 yields a
container.error and an alert.firing whose journal entries carry REGION_NAME and a LOG_TAIL
with the simulator's lines of region 7 (not region 1's), hostile log bytes neutralised; the
Slack and JSON bodies carry them; a webhook with log_tail = false gets no tail; the incident
costs at most two log requests for the region, and one region directory request."""

import json

import scenario

scenario.begin()
import hooklib as h  # noqa: E402
import iw  # noqa: E402
import oncelib as ol  # noqa: E402

ERROR = 'Back-off pulling image "registry.example.com/llama:v2"'
REGIONS = [{"id": 7, "display_name": "Luxembourg-2"}, {"id": 1, "display_name": "Paris-1"}]
HOSTILE = [
    "\x1b[31mRED\x1b[0m \x1b]0;pwned-title\x07after-osc",
    "nul\x00byte",
    {"hex": "6261642dff fe2d75746638".replace(" ", "")},      # "bad-\xff\xfe-utf8"
    "bidi \u202eevil\u202c end",
    "```</code> <!channel> `tick`",                            # Slack markup: fences, a mention
    {"hex": "41", "repeat": 1 << 20},                           # a 1 MB line
]


def field(entry, key):
    """A journal field as bytes (journalctl -o json gives non-printable values as byte arrays)."""
    v = entry.get(key)
    if v is None:
        return None
    if isinstance(v, list):
        return bytes(v)
    return v.encode("utf-8")


def journal_tail(entry):
    """LOG_TAIL as stored: every journal field is one line, its line breaks written as \\n."""
    v = field(entry, "LOG_TAIL")
    return v.replace(b"\\n", b"\n") if v is not None else None


def check_tail(t, tail, what):
    t.ok(tail is not None, what + ": LOG_TAIL is there")
    if tail is None:
        return
    lines = tail.split(b"\n")
    t.ok(b"Back-off: " + ERROR.encode() in tail, what + ": the simulator's lines for region 7", tail[:400])
    t.ok(b"-r7-" in tail and b"-r1-" not in tail and b"Application startup" not in tail,
         what + ": only region 7's pods", tail[:400])
    t.ok(b"\x1b" not in tail and b"\x00" not in tail and b"\x07" not in tail, what + ": no ESC, NUL or BEL", tail)
    try:
        tail.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    t.ok(valid, what + ": valid UTF-8")
    t.ok(b"RED after-osc" in tail and b"pwned-title" not in tail, what + ": ANSI and OSC sequences removed")
    t.ok(b"nul?byte" in tail, what + ": NUL replaced")
    t.ok("bad-\ufffd\ufffd-utf8".encode() in tail, what + ": invalid UTF-8 replaced by U+FFFD")
    t.ok("bidi ?evil? end".encode() in tail, what + ": bidirectional overrides replaced")
    t.ok(all(len(x) <= 320 for x in lines) and len(tail) <= 3000, what + ": lines and tail length-capped",
         [len(x) for x in lines])
    t.ok(any(x.endswith(b"AAAA\xe2\x80\xa6") for x in lines), what + ": the 1 MB line cut with an ellipsis")


def main(t):
    sim_scenario = {"regions": REGIONS, "deployments": [
        {"project_id": 1, "name": "llama", "status": "DEPLOYING", "regions": [1, 7]}]}
    with scenario.World(sim_scenario) as w, iw.Sink() as sink:
        hooks = [h.webhook("json", sink.hook_url("/json")), h.webhook("slack", sink.hook_url("/slack"), format="slack"),
                 h.webhook("private", sink.hook_url("/private"), log_tail=False)]
        conf = (w.config([(1, ["llama"])], log_tail_lines="10") +
                "webhooks = ( %s );\n" % ", ".join(h._group(x) for x in hooks))
        w.start(conf)
        w.wait_event("deployment.discovered", DEPLOYMENT="llama")
        iw.wait_until(lambda: w.sim.counters()["by_endpoint"]["regions"] >= 1, 10, "the region directory request")
        w.sim.add_logs(1, "llama", 1, ["region one says hello"])
        w.sim.add_logs(1, "llama", 7, HOSTILE)

        w.sim.set(1, "llama", status="PARTIALLYDEPLOYED", containers=[
            {"region_id": 1, "ready": 1, "total": 1},
            {"region_id": 7, "ready": 0, "total": 1, "error_message": ERROR}])
        err = w.wait_event("container.error", DEPLOYMENT="llama")[0]
        firing = w.wait_event("alert.firing", DEPLOYMENT="llama")[0]

        for e, what in ((err, "container.error"), (firing, "alert.firing")):
            t.eq((e.get("REGION_ID"), e.get("REGION_NAME")), ("7", "Luxembourg-2"), what + ": REGION_ID and REGION_NAME")
            t.eq(e.get("LOG_TAIL_STATUS"), "ok", what + ": LOG_TAIL_STATUS=ok")
            t.ok(b"\n" not in (field(e, "LOG_TAIL") or b""), what + ": LOG_TAIL is one journal line")
            check_tail(t, journal_tail(e), what)
        t.ok(err["MESSAGE"].startswith("llama (project 1): region Luxembourg-2 (7): " + ERROR),
             "container.error: the message names the region", err["MESSAGE"])
        t.eq(firing.get("REGION_NAMES"), "Luxembourg-2 (7)", "alert.firing: REGION_NAMES")

        # --once and --status name the region from the daemon's saved directory, at no API cost.
        regions_before = w.sim.counters()["by_endpoint"]["regions"]
        rc, out, _ = iw.run_once(conf, ["--once"])
        t.ok(rc == 1 and "region Luxembourg-2 (7): " + ERROR in out, "--once: the error names the region", out)
        table = ol.parse_table(out) or []
        t.eq([r["regions"] for r in table if r.get("deployment") == "llama"], [["Paris-1(1):1/1", "Luxembourg-2(7):0/1"]],
             "--once: the REGIONS column names the regions", out)
        rc, out, _ = iw.run_once(conf, ["--once", "--json"])
        rows = json.loads(out)["deployments"] if rc == 1 else []
        t.eq([(c["region_id"], c.get("region_name")) for r in rows for c in r["containers"]],
             [(1, "Paris-1"), (7, "Luxembourg-2")], "--once --json: region_name beside region_id")
        rc, out, _ = iw.run_once(conf, ["--status"])
        t.ok(rc == 0 and "region Luxembourg-2 (7): " + ERROR in out, "--status: the error names the region", out)
        t.eq(w.sim.counters()["by_endpoint"]["regions"], regions_before, "--once and --status fetch no directory")

        # At most two log requests for the region in this incident, none for the healthy one.
        w.sim.set(1, "llama", status="ACTIVE", containers=[{"region_id": 7, "ready": 1, "error_message": None}])
        w.wait_event("alert.resolved", DEPLOYMENT="llama")
        c = w.sim.counters()
        t.ok(1 <= c["by_logs"].get("1/llama/7", 0) <= 2, "≤ 2 log requests for region 7 in the incident", c["by_logs"])
        t.eq(c["by_logs"].get("1/llama/1", 0), 0, "no log request for the healthy region")
        t.eq(c["by_endpoint"]["regions"], 1, "one region directory request")
        t.diag("figure: incident requests: logs region 7 %d, region 1 %d; regions %d; capacity %d"
               % (c["by_logs"].get("1/llama/7", 0), c["by_logs"].get("1/llama/1", 0), c["by_endpoint"]["regions"],
                  c["by_endpoint"]["capacity"]))

        # Webhooks: JSON carries data.log_tail and region_name; Slack a code block; the private one no tail.
        n = len(w.events())
        iw.wait_until(lambda: len([d for d in sink.deliveries() if d["path"] == "/json"]) >= n - 0, 15,
                      "json deliveries")
        bodies = {p: [h.body(d) for d in sink.deliveries() if d["path"] == p] for p in ("/json", "/slack", "/private")}
        jerr = next(b for b in bodies["/json"] if b["type"] == "container.error")
        t.eq(jerr["data"].get("region_name"), "Luxembourg-2", "json: data.region_name")
        t.eq(jerr["data"].get("log_tail", "").encode(), journal_tail(err), "json: data.log_tail as in the journal")
        jfire = next(b for b in bodies["/json"] if b["type"] == "alert.firing")
        check_tail(t, jfire["data"].get("log_tail", "").encode(), "json alert.firing")
        perr = [b for b in bodies["/private"] if b["type"] in ("container.error", "alert.firing")]
        t.ok(len(perr) == 2 and all("log_tail" not in b["data"] and b["data"].get("region_name") == "Luxembourg-2"
                                    for b in perr), "log_tail = false: no tail, names still there",
             [b["data"] for b in perr])
        serr = next(b for b in bodies["/slack"] if "region Luxembourg-2 (7)" in b["text"])
        blocks = json.dumps(serr["blocks"], ensure_ascii=False)
        t.ok("*Last log lines*\\n```\\n" in blocks and "Back-off: " in blocks and "\\u001b" not in blocks,
             "slack: a code block with the tail", blocks[:600])
        code = next((b["text"]["text"] for b in serr["blocks"]
                     if b.get("text", {}).get("text", "").startswith("*Last log lines*\n```\n")), "")
        t.ok(code.count("```") == 2 and code.endswith("\n```") and "'''&lt;/code&gt; &lt;!channel&gt; 'tick'" in code
             and "<!channel>" not in code, "slack: log text cannot end the code block or mention a channel", code)
        t.ok(len(code) <= 3000 and all(ord(ch) >= 0x20 or ch == "\n" for ch in code) and "\x7f" not in code
             and "\u202e" not in code and "AAAA\u2026" in code,
             "slack: the code block is capped, without controls, the 1 MB line cut", [len(code)])
        fields = {f["text"].split("\n", 1)[0]: f["text"].split("\n", 1)[1] for f in serr["blocks"][1]["fields"]}
        t.eq(fields.get("*Region*"), "Luxembourg-2 (7), 0/1 ready", "slack: the region field names it")

        rc, out, _ = iw.run_once(conf, ["--status"])
        t.ok(rc == 0 and "Extra API requests: 1 region directory, " in out, "--status shows the extra API requests",
             out[-800:])
        t.diag("figure: --status: " + next((x for x in out.splitlines() if x.startswith("Extra API requests")), "-"))
        scenario.no_sanitizer_report(t, w.daemon)


if __name__ == "__main__":
    iw.run(main)
