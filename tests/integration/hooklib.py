"""Shared pieces of the webhook scenario tests (tests/integration/test-webhook-*.py).

The daemon runs with --log-format=json, so its stderr holds one JSON object per line: events
(they have "id" and "type", the same envelope a json webhook receives) and log lines ("time",
"priority", "message"). The events it logged are the reference a test compares deliveries with.
"""

import fnmatch
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import iw  # noqa: E402,F401

PRIORITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
SANITIZER_REPORT = re.compile(r"(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:)")

# Short intervals: polls every 3 s, every 500 ms while something is going on.
GLOBALS = dict(interval="3s", fast_interval="500ms", stuck_after="30s", **{"for": 2, "resolve_for": 1})


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[ %s ]" % ", ".join(_value(x) for x in v)
    return json.dumps(v)


def _group(d):
    return "{ %s }" % " ".join("%s = %s;" % (k, _value(v)) for k, v in d.items())


def config(sim, state_dir, projects, webhooks, account=None, **overrides):
    """The text of an inferwatch.conf: GLOBALS plus overrides, one account on sim, projects as
    dicts ({"id": 1, "deployments": [...] or "*"}), webhooks as dicts of their keys."""
    key_file = iw.write_secret("api-key", sim.token)
    settings = dict(GLOBALS, state_directory=state_dir, **overrides)
    # Compressed time: no request-rate ceiling, and named deployments by get-one (scenarios count
    # those requests), unless the test says otherwise.
    acc = dict(url=sim.url, key_file=key_file, connect_timeout="1s", timeout="2s", max_requests_per_second=0,
               list_named_deployments=False)
    acc.update(account or {})
    lines = ["%s = %s;" % (k, _value(v)) for k, v in settings.items()]
    lines.append("accounts = ( %s );" % _group(acc))
    lines.append("projects = ( %s );" % ", ".join(_group(p) for p in projects))
    if webhooks:
        lines.append("webhooks = ( %s );" % ", ".join(_group(w) for w in webhooks))
    return "\n".join(lines) + "\n"


def webhook(name, url, secret=None, **keys):
    """A webhook's keys with short timeouts; secret is written to a 0600 secret_file."""
    w = dict(name=name, url=url, format="json", timeout="1s", retry_max_interval="2s")
    if secret is not None:
        w["secret_file"] = iw.write_secret("secret-" + name, secret)
    w.update(keys)
    return w


def start(conf_text, extra_args=()):
    """inferwatchd in the foreground, logging JSON lines to stderr."""
    return iw.Daemon(conf_text, ["--log-target=stderr", "--log-format=json"] + list(extra_args))


def log_lines(daemon):
    """Every JSON line the daemon wrote to stderr (a line that is not JSON is kept as text)."""
    out = []
    for line in daemon.stderr().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"text": line})
    return out


def events(daemon, include_webhook_events=False):
    """The events the daemon logged, in order (webhook.* ones only when asked). Raises when the
    daemon exited by itself (a crash, a sanitizer abort), so that waits on events fail at once."""
    if daemon.returncode not in (None, 0, -signal.SIGKILL, -signal.SIGTERM):
        raise RuntimeError("inferwatchd exited with status %d:\n%s" % (daemon.returncode, daemon.stderr()[-4000:]))
    evs = [o for o in log_lines(daemon) if "id" in o and "type" in o]
    if not include_webhook_events:
        evs = [e for e in evs if not e["type"].startswith("webhook.")]
    return evs


def messages(daemon):
    """The daemon's log lines that are not events."""
    return [o.get("message", o.get("text")) for o in log_lines(daemon) if "type" not in o]


def accepts(wh, e):
    """A mirror of webhook_accepts(): whether webhook wh (a dict of its config keys) takes event e
    (an envelope). Deployment and project filters apply only to events that name one."""
    if e["type"].startswith("webhook."):
        return False
    if wh.get("format") == "alertmanager" and not e["type"].startswith("alert."):
        return False
    if PRIORITIES.index(e["priority"]) > PRIORITIES.index(wh.get("min_priority", "info")):
        return False
    if "events" in wh and not any(fnmatch.fnmatchcase(e["type"], g) for g in wh["events"]):
        return False
    if "deployments" in wh and e.get("deployment") and \
            not any(fnmatch.fnmatchcase(e["deployment"], g) for g in wh["deployments"]):
        return False
    if "projects" in wh and e.get("project_id") and e["project_id"] not in wh["projects"]:
        return False
    return True


def collapse(seq):
    """seq without consecutive repeats: the attempts of one event count once."""
    out = []
    for x in seq:
        if not out or out[-1] != x:
            out.append(x)
    return out


def ids(deliveries):
    return [d["headers"].get("webhook-id") or json.loads(d["body"]).get("id") for d in deliveries]


def body(d):
    return json.loads(d["body"])


def status(conf_text):
    """inferwatchd --status --json, parsed."""
    rc, out, err = iw.run_once(conf_text, ["--status", "--json"])
    if rc != 0:
        raise RuntimeError("--status failed (%d): %s" % (rc, err))
    return json.loads(out)


def webhook_status(conf_text, name):
    return next(w for w in status(conf_text)["webhooks"] if w["name"] == name)


def spool_files(state_dir, name):
    """The event files in a webhook's spool, oldest first."""
    d = os.path.join(state_dir, "spool", name)
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".json"))


def spool_ids(state_dir, name):
    out = []
    for path in spool_files(state_dir, name):
        with open(path) as f:
            out.append(json.load(f)["id"])
    return out


def check_clean(t, daemon, what="inferwatchd"):
    """Fails when the daemon's stderr holds a sanitizer report (ASan/UBSan/LSan build)."""
    m = SANITIZER_REPORT.search(daemon.stderr())
    t.ok(m is None, "%s: no sanitizer report on stderr" % what,
         None if m is None else daemon.stderr()[max(0, m.start() - 200):m.start() + 3000])


def stop(t, daemon, what="inferwatchd"):
    """SIGTERM; the daemon must exit 0 with no sanitizer report."""
    rc = daemon.stop(20)
    t.eq(rc, 0, "%s exits 0 on SIGTERM" % what)
    check_clean(t, daemon, what)


def polls(sim, project, name):
    """The simulator's count of requests for one deployment (its polls)."""
    return sim.counters()["by_deployment"].get("%d/%s" % (project, name), 0)


def play(sim, project, scripts, last):
    """A timeline by polls: scripts maps a deployment's name to its states, one per poll; after
    each poll of it, the deployment takes its next state, and last once its script is done."""
    pos = {name: 0 for name in scripts}
    seen = {name: polls(sim, project, name) for name in scripts}

    def step():
        counts = sim.counters()["by_deployment"]
        for name, script in scripts.items():
            n = counts.get("%d/%s" % (project, name), 0)
            if n > seen[name] and pos[name] <= len(script):
                seen[name] = n
                sim.set(project, name, **(script[pos[name]] if pos[name] < len(script) else last))
                pos[name] += 1
        return all(p > len(scripts[k]) for k, p in pos.items())
    iw.wait_until(step, 120, "every script played", interval=0.02)
