"""Hostile text from the API (issue 10, item 5): a container error_message and a discovered
deployment name carrying ESC sequences, BEL, CR LF, C1 controls (U+009B CSI) and bytes that are
not UTF-8 reach no sink raw. The journal stores every field as text (a string in
`journalctl -o json`, not an array of bytes) without control characters; the stderr log has one
line per message (no forged line); --once and --status, as tables and as JSON, and /metrics print
no C0 or C1 control. JSON keeps the original characters (as \\u escapes), the text sinks show
them escaped."""

import json
import os
import re
import time

import scenario

scenario.begin()
import iw  # noqa: E402
import metricslib as ml  # noqa: E402

# A name the discovery list returns: what a terminal would obey, a forged log line, a C1 CSI.
# (Bytes that are not UTF-8 make the whole body unusable: the API client validates it.)
EVIL_NAME = "evil\x1b[31m\x07\u009b2J\r\n2026-11-29T00:00:00.000Z crit    forged-name"
# The error_message of a watched deployment's container, as raw bytes in the API's JSON.
EVIL_ERROR = (b"pull failed\\u001b]0;pwned\\u0007\\u001b[2J\\r\\n2026-11-29T00:00:00.000Z crit    "
              b"forged-error \xc2\x9b" b"31m\\u0085 end")
LINE_START = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
# A long name and an error_message longer than an event carries: the container.error message
# around the cut text is longer than 4096 bytes, past which journalctl -o json shows null.
LONG_NAME = "a-deployment-with-a-long-but-valid-name-" + "x" * 60
LONG_ERROR = "pull failed: " + "y" * 6000


def bad_chars(text):
    """The control characters (C0 but for newline, DEL, C1) and U+FFFD in text."""
    return sorted({c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f or c == "\ufffd"})


def check_bytes(t, data, name):
    """data is valid UTF-8 with no control character but newlines."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        t.ok(False, name + ": valid UTF-8", diag="%s in %r" % (e, data[max(0, e.start - 60):e.end + 20]))
        return ""
    t.ok(True, name + ": valid UTF-8")
    bad = bad_chars(text)
    t.ok(not bad, name + ": no control character", diag="%r in %r" % (bad, text[-1500:]))
    return text


def json_string(data):
    """bytes as a JSON string literal, raw bytes kept (the simulator stores them as they are)."""
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def inject(w):
    # The error message: a PUT with the raw bytes.
    body = (b'{"status": "PARTIALLYDEPLOYED", "containers": [{"region_id": 1, "ready": 0, "total": 1, '
            b'"error_message": "' + EVIL_ERROR + b'"}]}')
    r = w.sim.request("PUT", "/_sim/deployments/1/inc", body)
    assert r.status == 200, r.body
    w.sim.set(1, LONG_NAME, ready=0, containers=[{"region_id": 1, "ready": 0, "error_message": LONG_ERROR}])
    # The name: the simulator refuses control characters in names, so the list of project 2 is
    # served by a fault with status 200 and the real body, renamed.
    listing = w.sim.list(2).json()
    listing["results"][0]["name"] = EVIL_NAME
    page = json.dumps(listing).encode()
    fault = b'{"kind": "status", "status": 200, "endpoint": "list", "project_id": 2, "body": ' + json_string(page) + b"}"
    r = w.sim.request("POST", "/_sim/faults", fault)
    assert r.status == 201, r.body


def main(t):
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "inc", "status": "ACTIVE"},
        {"project_id": 1, "name": LONG_NAME, "status": "ACTIVE"},
        {"project_id": 2, "name": "listed", "status": "ACTIVE"},
    ]}
    with scenario.World(sim_scenario) as w:
        inject(w)
        conf = w.config([(1, ["inc", LONG_NAME]), (2, "*")])

        # The journal.
        w.start(conf)
        err = w.wait_event("container.error", DEPLOYMENT="inc")[0]
        found = [e for e in w.wait_event("deployment.discovered", count=3)
                 if str(e.get("DEPLOYMENT")).startswith("evil")][0]
        long_err = w.wait_event("container.error", DEPLOYMENT=LONG_NAME)[0]
        w.daemon.stop()
        scenario.no_sanitizer_report(t, w.daemon, "the daemon: no sanitizer report or crash")
        entries = w.journal.entries(SYSLOG_IDENTIFIER="inferwatchd")
        blobs = [(e.get("EVENT"), k) for e in entries for k, v in e.items() if not isinstance(v, str)]
        t.eq(blobs, [], "every field of every entry is a string in journalctl -o json, not a blob")
        bad = [(e.get("EVENT"), k, bad_chars(v)) for e in entries for k, v in e.items()
               if isinstance(v, str) and (bad_chars(v) or "\n" in v)]
        t.eq(bad, [], "no field holds a control character or a newline")
        t.ok(isinstance(err.get("MESSAGE"), str) and "forged-error" in err["MESSAGE"]
             and "\\x1b]0;pwned\\x07" in err["MESSAGE"],
             "container.error's MESSAGE shows the escapes as text", diag=repr(err.get("MESSAGE")))
        t.ok("\\r\\n2026-11-29" in str(err.get("ERROR_MESSAGE")) and "\\xc2\\x9b31m\\xc2\\x85 end" in
             str(err.get("ERROR_MESSAGE")), "ERROR_MESSAGE too, C1 controls included",
             diag=repr(err.get("ERROR_MESSAGE")))
        t.ok("evil\\x1b[31m\\x07\\xc2\\x9b2J\\r\\n" in str(found.get("DEPLOYMENT")),
             "the discovered name is escaped in DEPLOYMENT", diag=repr(found.get("DEPLOYMENT")))
        msg = long_err.get("MESSAGE")
        t.ok(isinstance(msg, str) and len(msg.encode()) <= 4000 and msg.endswith(" [... cut]")
             and msg.startswith(LONG_NAME + " (project 1): region 1: pull failed: yyy"),
             "a message around a long error is cut to 4000 bytes", diag=repr(msg)[:200])

        # --status, from the state the daemon saved.
        for args in (["--status"], ["--status", "--json"]):
            d = iw.Daemon(conf, args=args)
            rc = d.wait_exit(30)
            with open(d.stdout_path, "rb") as f:
                out = f.read()
            t.eq(rc, 0, " ".join(args) + " succeeds", diag=d.stderr())
            scenario.no_sanitizer_report(t, d, " ".join(args) + ": no sanitizer report or crash")
            text = check_bytes(t, out, " ".join(args))
            if "--json" in args:
                s = json.loads(text)
                names = [x["deployment"] for x in s["deployments"]]
                t.ok(any(n.startswith("evil\x1b[31m\x07\u009b2J\r\n") for n in names),
                     "--status --json keeps the name's characters as JSON escapes", diag=repr(names))
            else:
                t.ok("evil\\x1b[31m\\x07\\xc2\\x9b2J\\r\\n" in text, "--status shows the name escaped", diag=text)

        # The stderr log, as text and as JSON lines.
        for fmt in ("text", "json"):
            d = iw.Daemon(conf.replace(w.state, iw.tmpdir("state-")), args=["--log-target=stderr", "--log-format=" + fmt])
            iw.wait_until(lambda: "forged-error" in d.stderr() and "forged-name" in d.stderr(), 20,
                          "inc's container.error and the discovery on stderr")
            d.stop()
            scenario.no_sanitizer_report(t, d, "--log-format=%s: no sanitizer report or crash" % fmt)
            with open(d.stderr_path, "rb") as f:
                log = f.read()
            check_bytes(t, log, "stderr as " + fmt)
            lines = log.splitlines()
            if fmt == "text":
                forged = [ln for ln in lines if not LINE_START.match(ln) or b"crit    forged" in ln[:40]]
                t.eq(forged, [], "stderr: every line is a log line of its own, none forged")
            else:
                objs = []
                for ln in lines:
                    try:
                        objs.append(json.loads(ln))
                    except ValueError:
                        t.ok(False, "stderr as json: a line that is not JSON", diag=repr(ln))
                errors = [o for o in objs if o.get("type") == "container.error" and o.get("deployment") == "inc"]
                t.ok(errors and "\x1b]0;pwned\x07" in errors[0]["data"]["error_message"],
                     "stderr as json: the error message keeps its characters as JSON escapes",
                     diag=repr(errors[:1]))

        # /metrics (a socket passed as inferwatch-metrics.socket does): the discovered name is a
        # label value, shown as DEPLOYMENT= shows it, then escaped as the exposition format asks.
        d, port = ml.start(conf.replace(w.state, iw.tmpdir("state-")))
        body = iw.wait_until(lambda: (lambda b: b if b"forged-name" in b else None)(ml.scrape(port).body), 20,
                             "the discovered name in /metrics")
        d.stop()
        scenario.no_sanitizer_report(t, d, "/metrics: no sanitizer report or crash")
        text = check_bytes(t, body, "/metrics")
        evil = [ln for ln in text.splitlines() if "forged-name" in ln]
        t.ok(evil and all('deployment="evil\\\\x1b[31m\\\\x07\\\\xc2\\\\x9b2J\\\\r\\\\n' in ln for ln in evil),
             "/metrics: the name's label value shows the escapes as text", diag=evil[:2])
        if os.access(ml.PROMTOOL, os.X_OK):
            rc, out = ml.promtool_check(text)
            t.ok(rc == 0, "/metrics: promtool check metrics accepts it", diag=out[-2000:] or None)
        else:
            t.diag("%s is not installed: /metrics not checked by promtool" % ml.PROMTOOL)

        # --once, as a table and as JSON.
        for args in (["--once"], ["--once", "--json"]):
            d = iw.Daemon(conf.replace(w.state, iw.tmpdir("state-")), args=args)
            d.wait_exit(30)
            scenario.no_sanitizer_report(t, d, " ".join(args) + ": no sanitizer report or crash")
            with open(d.stdout_path, "rb") as f:
                out = f.read()
            text = check_bytes(t, out, " ".join(args))
            if "--json" in args:
                rows = json.loads(text)["deployments"]
                t.ok(any(r["deployment"].startswith("evil\x1b[31m\x07\u009b2J\r\n") for r in rows),
                     "--once --json keeps the name's characters", diag=repr(rows))
            else:
                t.ok(len(text.splitlines()) == 5, "--once: the verdict, the header and one row per deployment",
                     diag=text)
            check_bytes(t, open(d.stderr_path, "rb").read(), " ".join(args) + " stderr")


iw.run(main)
