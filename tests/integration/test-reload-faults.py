"""SIGHUP with hostile files (issue 10 items 6, 7 and 9): the configuration is absolute (as in the
unit), and an absolute @include reloads; an @include naming a directory used to make libconfig's
scanner exit(2) (the daemon gone, no monitor.stopping), a FIFO as an @include or a key_file froze
the event loop. Each bad reload must be refused with its FILE:LINE reason while the daemon keeps
running and polling under the old configuration, and SIGTERM still stops it cleanly."""

import os
import signal

import scenario

scenario.begin()
import iw  # noqa: E402


def main(t):
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "first", "status": "ACTIVE"},
        {"project_id": 1, "name": "second", "status": "ACTIVE"},
    ]}
    with scenario.World(sim_scenario) as w:
        w.start(w.config([(1, ["first"])]))
        conf = w.daemon.config_path
        polls = lambda: w.sim.counters()["by_deployment"].get("1/second", 0)  # noqa: E731
        t.ok(os.path.isabs(conf), "the configuration is named by an absolute path", diag=conf)
        conf_dir = os.path.dirname(conf)

        def reload_with(text):
            with open(conf, "w") as f:
                f.write(text)
            w.daemon.signal(signal.SIGHUP)

        # Item 9: an absolute @include next to an absolute -c.
        text = w.config([(1, ["first", "second"])])
        projects = [line for line in text.splitlines(True) if line.startswith("projects")]
        extra = os.path.join(conf_dir, "extra.conf")
        with open(extra, "w") as f:
            f.write("".join(projects))
        base = "".join(line for line in text.splitlines(True) if not line.startswith("projects"))
        reload_with(base + '@include "%s"\n' % extra)
        w.wait_event("monitor.reloaded")
        w.wait_event("deployment.discovered", DEPLOYMENT="second")
        t.ok(True, "an absolute @include reloads, and its projects are in force")

        # Items 6 and 7: a directory, a FIFO as @include (relative names, taken from the
        # configuration's directory), a FIFO as key_file.
        subdir = os.path.join(conf_dir, "conf.d")
        os.mkdir(subdir)
        fifo = os.path.join(conf_dir, "fifo")
        os.mkfifo(fifo)
        n_lines = base.count("\n")
        bad = [
            ("an @include naming a directory", base + '@include "conf.d"\n',
             '%s:%d: cannot include "%s": Is a directory' % (conf, n_lines + 1, subdir)),
            ("an @include naming a FIFO", base + '@include "fifo"\n',
             '%s:%d: cannot include "%s": Not a regular file' % (conf, n_lines + 1, fifo)),
            ("a FIFO as key_file", base.replace(w.key, fifo) + "".join(projects),
             'accounts[0].key_file: cannot read "%s": Not a regular file' % fifo),
        ]
        for i, (what, text, reason) in enumerate(bad):
            reload_with(text)
            iw.wait_until(lambda: sum("keeping the configuration in force" in m for m in w.logs()) >= i + 1, 10,
                          "the reload with %s refused" % what)
            logs = w.logs()
            t.ok(any(reason in m for m in logs), "%s: refused with its reason" % what,
                 diag="\n".join(logs[-6:]))
            t.eq(w.daemon.returncode, None, "%s: the daemon still runs" % what)
            before = polls()
            iw.wait_until(lambda: polls() >= before + 2, 10, "polls after the reload with %s" % what)
            t.ok(True, "%s: the old configuration still polled" % what)
        t.eq(len(w.events(EVENT="monitor.reloaded")), 1, "no monitor.reloaded for the refused ones")

        w.daemon.stop()
        t.eq(w.daemon.returncode, 0, "SIGTERM: exit 0")
        t.ok(w.events(EVENT="monitor.stopping"), "monitor.stopping logged")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
