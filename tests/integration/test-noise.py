"""The notification budget (issue 12): one incident, from trouble to recovery, gives a handful of
warning-or-worse events and webhook deliveries under the example configuration's filters, however
long it lasts. Five incidents, each played at two lengths by ten deployments of one daemon:

- crash-loop back-off whose text changes on every poll (back-off, pod name over three pods) and
  whose ready count goes up and down;
- image-pull errors, ErrImagePull (whose registry address changes) and ImagePullBackOff in turn:
  two container.error, then the back and forth is no news;
- a readiness probe failing every other poll (flapping);
- a capacity error whose text carries a changing count;
- two genuinely different errors in succession in one region: two container.error;
- the readiness flap, whose bad polls report an OOM kill from half-way on: a new kind of failure
  during the flap is a container.error at err, delivered, once (one delivery more than the flap
  alone, at both lengths).

The webhooks are conf/inferwatch.conf's three, with their filters, pointed at the sink (at most 8
deliveries each), and one without filters (min_priority info): as many deliveries at both lengths."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

PROJECT = 1234
WARNING = ("emerg", "alert", "crit", "err", "warning")
GOOD = {"status": "ACTIVE", "containers": [{"region_id": 1, "ready": 1, "total": 1},
                                           {"region_id": 2, "ready": 3, "total": 3, "error_message": None}]}


def bad(error, ready=0, status="PARTIALLYDEPLOYED"):
    return {"status": status, "containers": [{"region_id": 1, "ready": 1, "total": 1},
                                             {"region_id": 2, "ready": ready, "total": 3, "error_message": error}]}


BACKOFF = ["10s", "20s", "40s", "1m20s", "2m40s", "5m0s"]
PODS = ["llm-7d9f8b6c5-q2x7m", "llm-7d9f8b6c5-8kzlw", "llm-7d9f8b6c5-x5v2t"]


def crash_loop(n):
    return [bad("Back-off %s restarting failed container=llm pod=%s_default(bdfa8741-f70a-11e5-bf51-00269e2bd23c)"
                % (BACKOFF[min(i, len(BACKOFF) - 1)], PODS[i % 3]), ready=(2, 2, 1)[i % 3]) for i in range(n)]


def image_pull(n):
    """The kubelet's ErrImagePull (whose address changes) and ImagePullBackOff, in turn."""
    pull = ('Failed to pull image "registry.example.com/ml/llm:v0.6.4": rpc error: code = Unavailable desc = failed '
            'to pull and unpack image: failed to do request: Head "https://registry.example.com/v2/ml/llm/manifests/'
            'v0.6.4": dial tcp 10.96.12.%d:443: i/o timeout')
    backoff = 'Back-off pulling image "registry.example.com/ml/llm:v0.6.4"'
    return [bad(pull % (40 + i % 7) if i % 3 == 0 else backoff, ready=0, status="DEPLOYING") for i in range(n)]


def readiness_flap(n):
    return [bad("Readiness probe failed: HTTP probe failed with statuscode: %d" % (503, 500)[i % 4 // 2], ready=2)
            if i % 2 == 0 else GOOD for i in range(n)]


def capacity(n):
    return [bad("Not enough capacity in region: 0 of 4 instances of inference-16vcpu-232gib-1xh100-80gb available, "
                "%d requests queued" % (3 + 2 * i), ready=0) for i in range(n)]


def two_errors(n):
    return ([image_pull(1)[0]] * (n // 2) +
            [bad("Back-off %s restarting failed container=llm pod=%s" % (BACKOFF[min(i, 5)], PODS[i % 3]), ready=0)
             for i in range(n - n // 2)])


OOM = "OOMKilled: container llm exceeded its memory limit, exited with code 137"


def flap_new_error(n):
    """The readiness flap, its bad polls reporting an OOM kill (another signature) from half-way."""
    return [bad(OOM, ready=2) if i >= n // 2 and i % 2 == 0 else e for i, e in enumerate(readiness_flap(n))]


# name, script, (short, long) lengths in polls
INCIDENTS = [
    ("crash-loop", crash_loop, (30, 60)),
    ("image-pull", image_pull, (20, 40)),
    ("readiness-flap", readiness_flap, (20, 40)),
    ("capacity", capacity, (20, 40)),
    ("two-errors", two_errors, (20, 40)),
    ("flap-new-error", flap_new_error, (20, 40)),
]
# A new kind of failure during a flap is news: one more delivery than the budget's.
EXTRA = {"flap-new-error": 1}

# Signed, so that every delivery carries the id of its event (webhook-id).
SECRET = "whsec_bm9pc2UtYnVkZ2V0LXNpZ25pbmcta2V5LTEyMzQ1Ng=="

# conf/inferwatch.conf's webhooks: their filters, pointed at the sink.
HOOKS = [
    dict(name="slack-oncall", format="slack", events=["alert.*"], min_priority="notice"),
    dict(name="alertmanager", format="alertmanager", events=["alert.*"]),
    dict(name="platform-events", format="json", headers=["X-Team: ml-platform"], deployments=["llama-*"],
         projects=[PROJECT], min_priority="notice"),
]
# And a webhook with no filter of its own (min_priority info, every event): more deliveries than
# the example's, but as many for a long incident as for a short one.
CATCH_ALL = dict(name="catch-all", format="json")


def main(t):
    names = {(inc, length): "llama-%s-%d" % (inc, length) for inc, _, lengths in INCIDENTS for length in lengths}
    scenario = {"deployments": [dict(project_id=PROJECT, name=n, **GOOD) for n in names.values()]}
    with iw.Sim(scenario) as sim, iw.Sink() as sink:
        hooks = [h.webhook(wh["name"], sink.hook_url("/" + wh["name"]), secret=SECRET,
                           **{k: v for k, v in wh.items() if k != "name"})
                 for wh in HOOKS + [CATCH_ALL]]
        conf = h.config(sim, iw.tmpdir("state-"), [{"id": PROJECT, "deployments": sorted(names.values())}], hooks,
                        interval="2s", fast_interval="250ms", flap_stable="3s")
        d = h.start(conf)
        iw.wait_until(lambda: sum(e["type"] == "deployment.discovered" for e in h.events(d)) == len(names), 20,
                      "every deployment discovered")
        h.play(sim, PROJECT, {n: script(length) for (inc, length), n in names.items()
                              for i, script, _ in INCIDENTS if i == inc}, GOOD)

        def of(name, kind):
            return [e for e in h.events(d) if e.get("deployment") == name and e["type"] == kind]

        def over(name):
            flapped = of(name, "deployment.flapping")
            return of(name, "alert.resolved") and len(of(name, "deployment.flapping_ended")) == len(flapped)
        iw.wait_until(lambda: all(over(n) for n in names.values()), 60, "every incident over (alert resolved, "
                      "flapping ended)")

        def delivered_ids(path):
            # An alertmanager webhook posts to <url>/api/v2/alerts.
            return set(h.ids([x for x in sink.deliveries() if x["path"] in (path, path + "/api/v2/alerts")]))
        evs = h.events(d)

        def missing():
            return {wh["name"]: [(e["type"], e["priority"]) for e in evs if h.accepts(wh, e) and
                                 e["id"] not in delivered_ids("/" + wh["name"])] for wh in hooks}
        try:
            iw.wait_until(lambda: not any(missing().values()), 30, "every webhook to get its events")
        except TimeoutError:
            print("# missing deliveries: %r" % missing())
            raise

        counts = {}
        for (inc, length), name in sorted(names.items()):
            incident = [e for e in evs if e.get("deployment") == name and e["type"] != "deployment.discovered"]
            ids = {e["id"] for e in incident}
            warn = [e for e in incident if e["priority"] in WARNING]
            per_hook = {wh["name"]: len(ids & delivered_ids("/" + wh["name"])) for wh in hooks}
            counts[inc, length] = (len(warn), per_hook, incident)
            print("# %-15s %2d polls: %d events, %d warning or worse (%s); deliveries %s" % (
                inc, length, len(incident), len(warn), ", ".join(e["type"] for e in warn),
                ", ".join("%s %d" % kv for kv in per_hook.items())))
            print("#   to platform-events: %s" % ", ".join(
                "%s/%s" % (e["type"], e["priority"]) for e in incident if e["id"] in delivered_ids("/platform-events")))

        for inc, _, (short, long_) in INCIDENTS:
            (w1, d1, ev1), (w2, d2, ev2) = counts[inc, short], counts[inc, long_]
            t.ok(w2 <= 6, "%s: at most 6 warning-or-worse events per incident" % inc, diag="%d" % w2)
            t.eq(w1, w2, "%s: as many warning-or-worse events at %d polls as at %d" % (inc, short, long_))
            # platform-events takes its deployments' events at notice or above: the health change
            # (which tells the status change of the same poll) and the error at the start and at
            # the end of the incident, the alert, and the flap's two events.
            for hook in ("slack-oncall", "alertmanager", "platform-events"):
                t.ok(d2[hook] <= 8 + EXTRA.get(inc, 0), "%s: at most %d deliveries to %s"
                     % (inc, 8 + EXTRA.get(inc, 0), hook), diag="%r" % d2)
            t.eq(d1, d2, "%s: as many webhook deliveries at %d polls as at %d, per webhook" % (inc, short, long_))
            # Nothing lost from the journal: the status change that the first health change tells
            # too is logged at info, and that health change carries the old status.
            first_status = [e for e in ev2 if e["type"] == "deployment.status_changed"][0]
            first_health = [e for e in ev2 if e["type"] == "deployment.health_changed"][0]
            t.eq((first_status["priority"], first_health["data"].get("old_status")),
                 ("info", first_status["data"]["old_status"]),
                 "%s: the first status change at info, told by the health change of its poll" % inc)
            t.eq(len([e for e in ev2 if e["type"] == "alert.firing"]), 1, "%s: one alert" % inc)
            errors = [e for e in ev2 if e["type"] == "container.error" and e["priority"] == "err"]
            t.eq(len(errors), 2 if inc in ("two-errors", "image-pull", "flap-new-error") else 1,
                 "%s: container.error at err" % inc,
                 diag="\n".join(e["data"]["error_message"] for e in errors))
            t.ok(all(e["priority"] != "debug" or e["data"].get("flapping") == "yes" for e in ev2),
                 "%s: only the changes of a flap are debug, and they say so" % inc)

        # The flap: one deployment.flapping, its changes still logged (at debug), one summary.
        flap = counts["readiness-flap", 40][2]
        started = [e for e in flap if e["type"] == "deployment.flapping"]
        t.eq(len(started), 1, "readiness flap: one deployment.flapping")
        t.eq(started[0]["priority"], "warning", "deployment.flapping is a warning")
        t.ok("status" in started[0]["data"]["flaps"] and "health" in started[0]["data"]["flaps"],
             "deployment.flapping says what flaps", diag=started[0]["data"])
        t.ok(len([e for e in flap if e["type"] == "deployment.status_changed"]) >= 38,
             "every change of the flap is still logged")
        ended = [e for e in flap if e["type"] == "deployment.flapping_ended"][0]
        t.eq((ended["priority"], ended["data"]["health"]), ("notice", "healthy"),
             "deployment.flapping_ended: a notice, healthy again")
        t.ok(ended["data"]["changes"] >= 36, "and it counts the changes", diag=ended["data"])
        # The crash-loop's one container.error has the first text; the latest is kept for --status.
        cl = [e for e in counts["crash-loop", 60][2] if e["type"] == "container.error"][0]
        t.ok("Back-off 10s" in cl["data"]["error_message"], "crash-loop: the first text reported",
             diag=cl["data"]["error_message"])
        two = [e["data"]["error_message"] for e in counts["two-errors", 40][2] if e["type"] == "container.error"]
        t.ok(two[0].startswith("Failed to pull image") and two[1].startswith("Back-off"),
             "two errors: both reported, in order", diag=two)

        # The new kind of failure during the flap: at err, delivered to platform-events, once.
        new = [e for e in counts["flap-new-error", 40][2] if e["type"] == "container.error" and
               e["data"]["error_message"] == OOM]
        t.ok(len(new) >= 8 and new[0]["priority"] == "err" and "flapping" not in new[0]["data"] and
             all(e["priority"] == "debug" and e["data"].get("flapping") == "yes" for e in new[1:]),
             "flap-new-error: the OOM kill at err once, its repeats in the flap at debug",
             diag=[(e["priority"], e["data"].get("flapping")) for e in new])
        t.eq([e["id"] in delivered_ids("/platform-events") for e in new], [True] + [False] * (len(new) - 1),
             "flap-new-error: the OOM kill delivered to platform-events once")
        ended = [e for e in counts["flap-new-error", 40][2] if e["type"] == "deployment.flapping_ended"]
        t.eq([e["data"].get("new_errors") for e in ended], [1], "flap-new-error: the flap's end counts one new kind")

        h.stop(t, d)
    latest_text(t)


def latest_text(t):
    """A new text with the same signature is no new container.error, but the latest text stays
    available: --status (the saved state) shows it. One quiet deployment and no webhook, so that
    nothing else makes the daemon save its state."""
    name = "llama-quiet"
    with iw.Sim({"deployments": [dict(project_id=PROJECT, name=name, **GOOD)]}) as sim:
        conf = h.config(sim, iw.tmpdir("state-"), [{"id": PROJECT, "deployments": [name]}], [],
                        interval="2s", fast_interval="250ms")
        d = h.start(conf)

        def errors():
            return [e for e in h.events(d) if e["type"] == "container.error"]
        iw.wait_until(lambda: any(e["type"] == "deployment.discovered" for e in h.events(d)), 10, "discovery")
        first, later = crash_loop(5)[0], crash_loop(5)[3]
        sim.set(PROJECT, name, **first)
        iw.wait_until(lambda: len(errors()) == 1 and any(e["type"] == "alert.firing" for e in h.events(d)), 10,
                      "the error reported and the alert open")
        n = h.polls(sim, PROJECT, name)
        sim.set(PROJECT, name, **later)
        iw.wait_until(lambda: h.polls(sim, PROJECT, name) >= n + 3, 10, "three more polls")

        def shown():
            dep = next(x for x in h.status(conf)["deployments"] if x["deployment"] == name)
            return [c["error_message"] for c in dep["containers"] if c["region_id"] == 2][0]
        want = later["containers"][1]["error_message"]
        try:
            iw.wait_until(lambda: shown() == want, 5, "--status to show the latest text")
        except TimeoutError:
            pass
        t.eq(shown(), want, "--status shows the latest text of the error")
        t.eq(len(errors()), 1, "and it was no new container.error")
        h.stop(t, d)


iw.run(main)
