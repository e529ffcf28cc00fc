"""The API key and the webhook signing secret never appear anywhere a user or an attacker
could read them: the journal (every field), stderr at debug level, the state file, the webhook
spool, --status, --once, -t, or the requests a webhook receives. Searched, not assumed."""

import glob
import json
import os

import scenario

scenario.begin()
import iw  # noqa: E402

WEBHOOK_SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
NEEDLES = [scenario.TOKEN, scenario.TOKEN.split("$")[1], WEBHOOK_SECRET, WEBHOOK_SECRET[6:]]


def leaks(text):
    return [n for n in NEEDLES if n in text]


def main(t):
    sim_scenario = {"deployments": [{"project_id": 1, "name": "x", "status": "DEPLOYING", "regions": [1, 2]}]}
    with scenario.World(sim_scenario) as w, iw.Sink(secret=WEBHOOK_SECRET) as sink:
        secret_file = iw.write_secret("webhook-secret", WEBHOOK_SECRET)
        conf = w.config([(1, ["x"])]) + (
            'webhooks = ( { name = "hook"; url = "%s"; secret_file = "%s"; } );\n' % (sink.hook_url(), secret_file))
        w.start(conf, args=["--log-level=debug"])
        w.sim.set(1, "x", status="PARTIALLYDEPLOYED", containers=[{"region_id": 2, "error_message": "boom"}])
        w.wait_event("alert.firing")
        w.sim.fault("status", status=503, count=4)
        w.wait_event("api.unreachable")
        w.wait_event("api.recovered")
        w.sim.set_tokens(["another"])
        w.wait_event("api.auth_failed")
        w.sim.set_tokens([scenario.TOKEN])
        w.wait_event("api.recovered", count=2)
        received = lambda: [json.loads(d["body"])["type"] for d in sink.deliveries()]  # noqa: E731
        iw.wait_until(lambda: received().count("api.recovered") >= 2, 15, "the webhook to catch up",)
        sink.behave(status=503)
        w.sim.set(1, "x", status="ACTIVE", containers=[{"region_id": 2, "error_message": None}])
        w.wait_event("alert.resolved")
        iw.wait_until(lambda: glob.glob(os.path.join(w.state, "spool", "hook", "*.json")), 10, "a spooled event")

        journal = "\n".join("\n".join("%s=%s" % kv for kv in e.items()) for e in w.journal.entries())
        t.ok(len(journal) > 1000 and "alert.firing" in journal, "the journal was searched (it has content)")
        t.eq(leaks(journal), [], "no secret in any journal field")
        t.eq(leaks(w.daemon.stderr() + w.daemon.stdout()), [], "no secret on stderr or stdout (debug level)")
        state = open(os.path.join(w.state, "state.json")).read()
        t.ok('"deployments"' in state, "the state file was searched")
        t.eq(leaks(state), [], "no secret in the state file")
        spool = "".join(open(p).read() for p in glob.glob(os.path.join(w.state, "spool", "*", "*.json")))
        t.ok(spool, "the spool was searched")
        t.eq(leaks(spool), [], "no secret in the webhook spool")
        received = "".join(str(d.get("headers")) + str(d.get("body")) for d in sink.deliveries())
        t.eq(leaks(received), [], "no secret in what the webhook receives (only the signature)")
        t.ok(sink.deliveries() and all(d.get("signature") == "valid" for d in sink.deliveries()),
             "deliveries were signed, and the sink verified them with the secret")
        args = " ".join(open("/proc/%d/cmdline" % w.daemon.pid).read().split("\0"))
        t.eq(leaks(args), [], "no secret on the command line")
        for extra in (["--status"], ["--status", "--json"], ["--once"], ["--once", "--json"], ["-t"]):
            rc, out, err = iw.run_once(conf, args=extra)
            t.eq(leaks(out + err), [], "no secret in the output of %s" % " ".join(extra))
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
