"""The systemd notify protocol over a real NOTIFY_SOCKET: READY=1 with a STATUS= once the first
polls are scheduled, WATCHDOG=1 pings, SIGHUP with a good config (RELOADING=1 + MONOTONIC_USEC,
then READY=1, the new config in force), SIGHUP with a bad one (still running, still polling,
the old config in force, the reason logged), and SIGTERM (STOPPING=1, exit 0)."""

import signal

import scenario

scenario.begin()
import iw  # noqa: E402


def datagrams_with(notify, prefix):
    return [m for m in notify.messages() if any(line.startswith(prefix) for line in m.splitlines())]


def main(t):
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "first", "status": "ACTIVE"},
        {"project_id": 1, "name": "second", "status": "DEPLOYING"},
    ]}
    with scenario.World(sim_scenario) as w:
        notify = iw.Notify()
        conf = w.config([(1, ["first"])])
        w.start(conf, env=dict(notify.env, WATCHDOG_USEC="1000000"))
        ready = notify.wait_for("READY=1")
        t.ok("READY=1" in ready.splitlines(), "READY=1 after start")
        status = iw.wait_until(lambda: [m for m in datagrams_with(notify, "STATUS=") if "1 healthy" in m], 10,
                               "a STATUS= with the health counts")
        t.ok("STATUS=1 deployment: 1 healthy; 0 alerts open" in status[-1].splitlines(), "STATUS= reads well",
             diag=status[-1])
        iw.wait_until(lambda: len(datagrams_with(notify, "WATCHDOG=1")) >= 2, 5, "watchdog pings")
        t.ok(True, "WATCHDOG=1 sent at half of WATCHDOG_USEC")

        # A good new config: reloaded, and it is in force (the second deployment is watched).
        with open(w.daemon.config_path, "w") as f:
            f.write(w.config([(1, ["first", "second"])]))
        seen = len(notify.messages())
        w.daemon.signal(signal.SIGHUP)
        w.wait_event("monitor.reloaded")
        w.wait_event("deployment.discovered", DEPLOYMENT="second")
        after = notify.messages()[seen:]
        reloading = [m for m in after if "RELOADING=1" in m.splitlines()]
        t.eq(len(reloading), 1, "RELOADING=1 on SIGHUP")
        t.ok(reloading and any(l.startswith("MONOTONIC_USEC=") and l[15:].isdigit() for l in reloading[0].splitlines()),
             "with MONOTONIC_USEC", diag=str(reloading))
        kinds = [k for m in after for k in ("RELOADING=1", "READY=1") if k in m.splitlines()]
        t.eq(kinds[:2], ["RELOADING=1", "READY=1"], "then READY=1")
        first_polls = w.sim.counters()["by_deployment"].get("1/first", 0)

        # A bad config: refused, logged, the old one stays in force.
        with open(w.daemon.config_path, "w") as f:
            f.write(w.config([(1, ["first"])]).replace('interval = "2s"', 'interval = "2 fortnights"'))
        seen = len(notify.messages())
        w.daemon.signal(signal.SIGHUP)
        iw.wait_until(lambda: [k for m in notify.messages()[seen:] for k in m.splitlines() if k == "READY=1"], 10,
                      "READY=1 after the refused reload")
        kinds = [k for m in notify.messages()[seen:] for k in ("RELOADING=1", "READY=1") if k in m.splitlines()]
        t.eq(kinds, ["RELOADING=1", "READY=1"], "a refused reload still goes RELOADING=1 → READY=1")
        logs = "\n".join(w.logs())
        t.ok("inferwatch.conf:1: interval: invalid duration" in logs, "the reason, with FILE:LINE, is logged",
             diag=logs[-1500:])
        t.ok("keeping the configuration in force" in logs, "and that the old configuration stays")
        t.eq(w.daemon.returncode, None, "still running")
        t.eq(len(w.events(EVENT="monitor.reloaded")), 1, "no monitor.reloaded for the refused one")
        n_second = w.sim.counters()["by_deployment"].get("1/second", 0)
        iw.wait_until(lambda: w.sim.counters()["by_deployment"].get("1/second", 0) >= n_second + 3, 10,
                      "the deployment of the old config still polled")
        iw.wait_until(lambda: w.sim.counters()["by_deployment"].get("1/first", 0) > first_polls, 10, "a stable one polled")
        t.ok(True, "still polling at the old pace")

        w.daemon.stop()
        t.eq(w.daemon.returncode, 0, "SIGTERM: exit 0")
        t.ok(datagrams_with(notify, "STOPPING=1"), "STOPPING=1 on SIGTERM")
        t.ok(w.events(EVENT="monitor.stopping"), "monitor.stopping logged")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
