"""The demo: inferwatchd against the bundled Gcore API simulator playing a rollout.

Run by scripts/demo.sh after the build. Prints the daemon's events as they happen and the
webhook deliveries the sink receives, then what `inferwatchd --status` and `--once` say.
With --ci it stops as soon as the story is complete (within two minutes) instead of after a fixed
time, then checks that the story was told, and exits non-zero if not.
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "harness"))
import iw  # noqa: E402

DURATION = 26.0  # the show for a human: the whole scenario and a few polls more
CI_DEADLINE = 120.0  # --ci: the most to wait for the story to be complete

WANTED = ["deployment.discovered", "container.error", "alert.firing", "container.error_cleared",
          "alert.resolved", "deployment.status_changed", "deployment.spec_changed"]
EVENT_LINE = re.compile(r"^\S+\s+\S+\s+([a-z]+\.[a-z_]+)\s")


def config(sim, sink, key, secret, state):
    return f"""
# Compressed intervals so the whole story fits in half a minute.
interval = "5s";
fast_interval = "1s";
stuck_after = "2m";
for = 2;
state_directory = "{state}";
accounts = ( {{ name = "demo"; url = "{sim.url}"; key_file = "{key}"; }} );
projects = ( {{ id = 1; deployments = "*"; }} );
webhooks = (
  {{ name = "ops-json"; url = "{sink.hook_url('/json')}"; format = "json"; secret_file = "{secret}"; }},
  {{ name = "ops-slack"; url = "{sink.hook_url('/slack')}"; format = "slack"; min_priority = "warning"; }}
);
"""


def show_delivery(d):
    body = json.loads(d.get("body") or "null")
    sig = d.get("signature", "?")
    if d["path"] == "/json":
        what = f"{body['type']} {body.get('deployment') or ''}".strip()
        print(f"      -> webhook ops-json  {what}  (signature {sig})", flush=True)
        tail = (body.get("data") or {}).get("log_tail")
        if tail:
            region = body["data"].get("region_name") or body["data"].get("region_id")
            print(f"         last log lines of {region}:", flush=True)
            for line in tail.splitlines():
                print("           | " + line, flush=True)
    else:
        print(f"      -> webhook ops-slack {body['text'][:90]}", flush=True)


def story_complete(scenario, text, deliveries):
    """--ci: every event type the check wants was logged, the scenario's last step was (its
    status change, when it makes one), and ops-json received every event logged so far."""
    if any(w not in text for w in WANTED):
        return False
    last = scenario["timeline"][-1]
    status = last["set"].get("status")
    who = "%s (project %d)" % (last["name"], last["project_id"])
    if status:
        changed = re.compile(r"\sdeployment\.status_changed\s+%s: .* → %s( |$)" % (re.escape(who), re.escape(status)))
        if not any(changed.search(line) for line in text.splitlines()):
            return False
    events = sum(1 for line in text.splitlines() if EVENT_LINE.match(line))
    delivered = {json.loads(d["body"])["id"] for d in deliveries if d["path"] == "/json"}
    return len(delivered) >= events


def main():
    ci = "--ci" in sys.argv
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenario.json")) as f:
        scenario = json.load(f)
    token = scenario["tokens"][0]
    secret_value = "whsec_ZGVtby1zZWNyZXQtZm9yLXRoZS1zaW5r"
    state = iw.tmpdir("state-")
    with iw.Sim(scenario, tokens=()) as sim, iw.Sink(secret=secret_value) as sink:
        key = iw.write_secret("api-key", token)
        secret = iw.write_secret("webhook-secret", secret_value)
        print(f"Simulator on {sim.url}, webhook sink on {sink.url}\n", flush=True)
        daemon = iw.Daemon(config(sim, sink, key, secret, state), args=["--log-target=stderr"])
        seen_lines, seen_deliveries = 0, 0
        # A human watches for a fixed time; --ci stops as soon as the story is complete.
        end = time.monotonic() + (CI_DEADLINE if ci else DURATION)
        complete = False
        while time.monotonic() < end and daemon.returncode is None:
            text = daemon.stderr()
            lines = text.splitlines()
            for line in lines[seen_lines:]:
                print("  " + line, flush=True)
            seen_lines = len(lines)
            deliveries = sink.deliveries()
            for d in deliveries[seen_deliveries:]:
                show_delivery(d)
            seen_deliveries = len(deliveries)
            if ci and story_complete(scenario, text, deliveries):
                complete = True
                break
            time.sleep(0.2)
        daemon.stop()
        for line in daemon.stderr().splitlines()[seen_lines:]:
            print("  " + line)
        deliveries = sink.deliveries()
        for d in deliveries[seen_deliveries:]:
            show_delivery(d)

        conf_path = daemon.config_path
        print("\n$ inferwatchd --status", flush=True)
        rc, out, err = iw.run_once(open(conf_path).read(), args=["--status"])
        print(out + err, flush=True)
        print("$ inferwatchd --once", flush=True)
        rc_once, out, err = iw.run_once(open(conf_path).read(), args=["--once"])
        print(out + err, flush=True)
        print(f"(exit code {rc_once}: Nagios OK)\n" if rc_once == 0 else f"(exit code {rc_once})\n")
        signed = sum(1 for d in deliveries if d["path"] == "/json")
        valid = sum(1 for d in deliveries if d["path"] == "/json" and d.get("signature") == "valid")
        print(f"{len(deliveries)} webhook deliveries, {valid} of {signed} signed ones verified by the sink.")

        if ci:
            text = daemon.stderr()
            missing = [w for w in WANTED if w not in text]
            problems = []
            if not complete:
                problems.append("the story was not complete after %.0f s" % CI_DEADLINE)
            if missing:
                problems.append(f"events never logged: {', '.join(missing)}")
            if text.count("alert.firing") != 1 or text.count("alert.resolved") != 1:
                problems.append("expected exactly one alert.firing and one alert.resolved")
            if valid == 0 or valid != signed:
                problems.append(f"signatures: {valid} of {signed} valid")
            if "region Luxembourg-2 (7)" not in text:
                problems.append("no event named region 7 Luxembourg-2")
            if not any("log_tail" in (json.loads(d["body"]).get("data") or {})
                       for d in deliveries if d["path"] == "/json"):
                problems.append("no delivery carried a log tail")
            if rc_once != 0:
                problems.append(f"--once exited {rc_once}")
            if daemon.returncode != 0:
                problems.append(f"inferwatchd exited {daemon.returncode}")
            if problems:
                print("DEMO CHECK FAILED: " + "; ".join(problems))
                return 1
            print("demo check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
