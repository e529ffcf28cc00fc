"""Crash consistency: the daemon is SIGKILLed again and again while two deployments fail and
recover (alerts fire and resolve, container errors come and go), and restarted on the same state
directory each time. Half of the kills come from the test build's crash hooks (right after the
Nth spool append, before the Nth state rename, after the Nth journal write, before the outbox
is marked fed), the others at a random instant. Then the deployments stay healthy, a last daemon
drains everything, and the sink's record must show:

- no event missing: every event any daemon logged (its journal) was delivered, and every
  delivered event was logged;
- every repeat carries the same webhook-id as its first delivery: one id per occurrence (an
  error, its clearing, an alert's firing and resolution), however often it was delivered;
- no alert fired twice: per deployment, alert.firing and alert.resolved alternate, each
  resolution names the alert that fired, and every fired alert was resolved;
- no transition lost: each container.error_cleared clears the error last reported there;
- the kills did interrupt commits (restarts fed their events again), and no state.json.tmp.PID
  of a kill before a rename is left.

The daemons write to a private systemd-journald (the journal is what the checks read back), or
where none can run (not root) or IW_CRASH_STDERR=1, to stderr as JSON lines, the same events.

The seed is printed; IW_CRASH_SEED=N repeats a run, IW_CRASH_LIVES=N changes the number of kills.
"""

import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

BINARY = iw.builddir("tests", "crash", "inferwatchd-crashpoints")
PHASE = 1.5      # seconds between changes of the deployments
LIFE_MAX = 4.0   # a daemon not killed by its hook by then is killed anyway


def healthy():
    return dict(status="ACTIVE", containers=[{"region_id": r, "ready": 1, "total": 1, "error_message": None}
                                             for r in (1, 7)])


def failing(message):
    return dict(status="PARTIALLYDEPLOYED",
                containers=[{"region_id": 1, "ready": 1, "total": 1, "error_message": None},
                            {"region_id": 7, "ready": 0, "total": 1, "error_message": message}])


def word(n):
    """A word per number, "kalo" for 10: error texts that differ by a number would share an error
    signature (the daemon reports a new one only when the signature changes)."""
    return "".join(["ka", "lo", "mi", "nu", "pa", "re", "si", "tu", "ve", "zo"][int(d)] for d in str(n))


class Driver(threading.Thread):
    """Changes the deployments every PHASE seconds until stopped; every error text is new."""

    def __init__(self, sim):
        super().__init__(daemon=True)
        self.sim = sim
        self.done = threading.Event()
        self.error = None

    def run(self):
        try:
            p = 0
            while not self.done.wait(PHASE):
                p += 1
                self.sim.set(1, "prod-a", **(failing("a-boom-" + word(p)) if p % 2 == 1 else healthy()))
                self.sim.set(1, "prod-b", **(failing("b-boom-" + word(p)) if p % 3 != 0 else healthy()))
        except Exception as e:  # noqa: BLE001 (reported by the main thread)
            self.error = e

    def stop(self):
        self.done.set()
        self.join(10)
        self.sim.set(1, "prod-a", **healthy())
        self.sim.set(1, "prod-b", **healthy())


def kill_plan(rng, lives):
    """(crash hook or None, seconds before a SIGKILL) per life."""
    hooks = [("spool", 12), ("state", 3), ("journal", 12), ("fed", 3), ("any", 25)]
    plan = []
    for i in range(lives):
        if i % 2 == 0:
            where, most = hooks[(i // 2) % len(hooks)]
            plan.append(("%s:%d" % (where, rng.randint(1, most)), LIFE_MAX))
        else:
            plan.append((None, rng.uniform(0.2, LIFE_MAX)))
    return plan


def key(e):
    """What one occurrence is about, whatever its id: two events with one key are one event."""
    d = e.get("data", {})
    t = e["type"]
    if t == "container.error":
        return (t, e["deployment"], d.get("region_id"), d.get("error_message"), d.get("old_error_message"))
    if t == "container.error_cleared":
        return (t, e["deployment"], d.get("region_id"), d.get("old_error_message"))
    if t == "alert.firing":
        return (t, e["deployment"], d.get("reason"))
    if t == "alert.resolved":
        return (t, e["deployment"], d.get("alert_id"))
    if t == "deployment.discovered":
        return (t, e["deployment"])
    return None


class Logs:
    """Where the daemons' events and messages go: a private journald when one can run, else stderr."""

    def __init__(self):
        self.journal = iw.Journal() if os.environ.get(iw._NS_ENV) == "1" else None

    def args(self):
        return ["--log-target=journal"] if self.journal else ["--log-target=stderr", "--log-format=json"]

    def _entries(self):
        return self.journal.entries(SYSLOG_IDENTIFIER="inferwatchd")

    def events(self, daemons):
        """(id, type) of every event logged, webhook.* ones aside."""
        if self.journal:
            evs = [(e["EVENT_ID"], e["EVENT"]) for e in self._entries() if "EVENT_ID" in e]
        else:
            evs = [(e["id"], e["type"]) for d in daemons for e in h.events(d)]
        return [(i, typ) for i, typ in evs if not typ.startswith("webhook.")]

    def messages(self, daemons):
        if self.journal:
            return [e.get("MESSAGE") for e in self._entries() if "EVENT_ID" not in e]
        return [m for d in daemons for m in h.messages(d)]


def main(t):
    logs = Logs()
    t.diag("the daemons log to %s" % ("a private journald" if logs.journal else "stderr (no private journald here)"))
    seed = int(os.environ.get("IW_CRASH_SEED") or random.SystemRandom().randrange(1, 1 << 30))
    lives = int(os.environ.get("IW_CRASH_LIVES") or 24)
    t.diag("seed %d (IW_CRASH_SEED=%d repeats this run), %d lives" % (seed, seed, lives))
    rng = random.Random(seed)
    if not os.access(BINARY, os.X_OK):
        t.skip_all("%s is not built" % BINARY)

    state = iw.tmpdir("state-")
    scenario = {"deployments": [dict(project_id=1, name="prod-a", **healthy()),
                                dict(project_id=1, name="prod-b", **healthy())]}
    with iw.Sim(scenario) as sim, iw.Sink(secret="crash-key") as sink:
        wh = h.webhook("hook", sink.hook_url(), secret="crash-key")
        # No flap damping: the scenario flaps on purpose, and every change must be an event.
        conf = h.config(sim, state, [{"id": 1, "deployments": ["prod-a", "prod-b"]}], [wh], interval="1s",
                        flap_returns=30, flap_window=3)
        daemons = []
        driver = Driver(sim)
        driver.start()
        hooked = 0
        try:
            for hook, life in kill_plan(rng, lives):
                d = iw.Daemon(conf, logs.args(), binary=BINARY,
                              env={"INFERWATCH_CRASHPOINT": hook} if hook else {"INFERWATCH_CRASHPOINT": ""})
                daemons.append(d)
                try:
                    d.proc.wait(life)
                except Exception:  # noqa: BLE001 (still running: the timed kill)
                    pass
                if d.returncode is None:
                    d.kill()
                elif hook:
                    hooked += 1
                if d.returncode != -signal.SIGKILL:
                    t.ok(False, "a daemon died of something else than SIGKILL (%s)" % d.returncode, d.stderr()[-3000:])
                    return
        finally:
            driver.stop()
        t.ok(driver.error is None, "the scenario driver ran", driver.error)
        t.ok(hooked >= lives // 4, "%d of %d kills came from a crash hook (%d lives)" % (hooked, lives // 2, lives))
        dirty = [d.stderr() for d in daemons if h.SANITIZER_REPORT.search(d.stderr())]
        t.eq(dirty[:1], [], "no sanitizer report from the %d killed daemons" % len(daemons))

        started = sum(1 for _, typ in logs.events(daemons) if typ == "monitor.started")
        last = iw.Daemon(conf, logs.args(), binary=BINARY)
        daemons.append(last)
        iw.wait_until(lambda: sum(1 for _, typ in logs.events(daemons) if typ == "monitor.started") > started, 30,
                      "the last daemon", interval=0.2)

        def logged():
            return logs.events(daemons)

        def delivered_ids():
            return set(h.ids([x for x in sink.deliveries() if x["status"] == 200]))

        def settled():
            evs = [h.body(x) for x in sink.deliveries()]
            fired = {e["data"]["alert_id"] for e in evs if e["type"] == "alert.firing"}
            resolved = {e["data"]["alert_id"] for e in evs if e["type"] == "alert.resolved"}
            return fired <= resolved and {i for i, _ in logged()} <= delivered_ids() and \
                not h.spool_ids(state, "hook")
        try:
            iw.wait_until(settled, 40, "every alert resolved and every logged event delivered", interval=0.3)
        except TimeoutError as e:
            t.diag("%s: the checks below say what is missing" % e)
        h.stop(t, last, "the last daemon")
        replayed = sum(1 for m in logs.messages(daemons) if "of the last commit before a crash" in (m or ""))
        t.ok(replayed > 0, "%d restarts fed again the events of a commit a kill interrupted" % replayed)
        left = [f for f in os.listdir(state) if f.startswith("state.json.tmp")]
        t.eq(left, [], "no temporary state file left (a kill before a rename leaves one; the next start removes it)")

        deliveries = sink.deliveries()
        ok = [x for x in deliveries if x["status"] == 200]
        t.ok(ok and all(x["signature"] == "valid" for x in ok), "%d deliveries, all signed validly" % len(ok))
        journal = {i for i, _ in logged()}
        got = delivered_ids()
        stopping = {i for i, typ in logged() if typ == "monitor.stopping"}
        t.eq(sorted(journal - got - stopping), [], "no event missing: every logged event was delivered")
        t.eq(sorted(got - journal), [], "the journal missed nothing delivered")

        t.eq([x for x in ok if x["headers"].get("webhook-id") != h.body(x)["id"]], [],
             "each delivery's webhook-id is its event's id")
        first, seen = [], set()
        for x in ok:
            b = h.body(x)
            if b["id"] not in seen:
                seen.add(b["id"])
                first.append(b)
        by_key = {}
        for b in first:
            k = key(b)
            if k:
                by_key.setdefault(k, []).append(b["id"])
        twice = {str(k): v for k, v in by_key.items() if len(v) > 1}
        t.eq(twice, {}, "every repeat carries the webhook-id of its first delivery (%d occurrences)" % len(by_key))

        fired_total = 0
        for dep in ("prod-a", "prod-b"):
            alerts = [b for b in first if b.get("deployment") == dep and b["type"] in ("alert.firing", "alert.resolved")]
            seq = [(b["type"], b["data"]["alert_id"]) for b in alerts]
            bad, open_id = [], None
            for typ, aid in seq:
                if typ == "alert.firing":
                    if open_id is not None:
                        bad.append("fired %s while %s was open" % (aid, open_id))
                    open_id = aid
                else:
                    if aid != open_id:
                        bad.append("resolved %s, open was %s" % (aid, open_id))
                    open_id = None
            fired = sum(1 for s in seq if s[0] == "alert.firing")
            t.eq(bad, [], "%s: %d alerts, none fired twice, each resolution names the alert that fired" % (dep, fired))
            t.ok(open_id is None, "%s: every fired alert was resolved" % dep, seq[-3:])
            fired_total += fired

            errors, bad = {}, []
            for b in first:
                if b.get("deployment") != dep:
                    continue
                region = b.get("data", {}).get("region_id")
                if b["type"] == "container.error":
                    if b["data"].get("old_error_message") != errors.get(region):
                        bad.append("error %r follows %r, not %r" % (b["data"]["error_message"], errors.get(region),
                                                                     b["data"].get("old_error_message")))
                    errors[region] = b["data"]["error_message"]
                elif b["type"] == "container.error_cleared":
                    if b["data"].get("old_error_message") != errors.get(region):
                        bad.append("cleared %r, last reported %r" % (b["data"].get("old_error_message"),
                                                                     errors.get(region)))
                    errors[region] = None
            t.eq(bad, [], "%s: no container error or clearing lost" % dep)

        t.ok(fired_total >= 2, "the scenario fired and resolved alerts (%d)" % fired_total)


if os.environ.get("IW_CRASH_STDERR") != "1" and iw._namespace_unavailable() is None:
    iw.ensure_private_namespace()
iw.run(main)
