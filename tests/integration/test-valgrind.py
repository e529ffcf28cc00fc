"""One long scenario under valgrind's memcheck: a rollout with an error, an API outage, a
reload and a webhook that fails for a while; the daemon must stop cleanly with no memory error
and no leak. Skipped (not passed) where valgrind is missing or the binary is built with ASan,
which valgrind cannot run."""

import shutil
import signal

import scenario

scenario.begin()
import iw  # noqa: E402


def asan_build():
    with open(iw.builddir("daemon", "inferwatchd"), "rb") as f:
        return b"__asan_init" in f.read()


def main(t):
    if not shutil.which("valgrind"):
        t.skip_all("valgrind is not installed")
    if asan_build():
        t.skip_all("the daemon is built with AddressSanitizer; valgrind runs in the plain build")
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "roll", "status": "DEPLOYING", "regions": [1, 7]},
        {"project_id": 2, "name": "listed", "status": "ACTIVE"},
    ]}
    with scenario.World(sim_scenario) as w, iw.Sink() as sink:
        conf = w.config([(1, ["roll"]), (2, "*")], fast_interval='"200ms"') + (
            'webhooks = ( { name = "hook"; url = "%s"; retry_max_interval = "1s"; },'
            ' { name = "am"; url = "%s"; format = "alertmanager"; } );\n' % (sink.hook_url(), sink.hook_url("/am")))
        log = iw.tmpdir("valgrind-") + "/memcheck.log"
        w.daemon = iw.Daemon(conf, args=["--log-target=journal"], wrapper=[
            "valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99", "--log-file=" + log])
        w.wait_event("monitor.started", timeout=60)
        w.wait_event("deployment.discovered", count=2, timeout=60)
        sink.behave(status=503, count=5)
        w.sim.set(1, "roll", status="PARTIALLYDEPLOYED", containers=[{"region_id": 1, "ready": 1},
                                                                      {"region_id": 7, "error_message": "pull"}])
        w.wait_event("alert.firing", timeout=60)
        w.sim.fault("reset", duration=4)
        w.wait_event("api.unreachable", timeout=60)
        w.wait_event("api.recovered", timeout=60)
        w.sim.create(2, "later", status="DEPLOYING")
        w.wait_event("deployment.discovered", DEPLOYMENT="later", timeout=60)
        w.daemon.signal(signal.SIGHUP)
        w.wait_event("monitor.reloaded", timeout=60)
        w.sim.set(1, "roll", status="ACTIVE", ready=1, containers=[{"region_id": 7, "error_message": None}])
        w.wait_event("alert.resolved", timeout=60)
        w.sim.delete(2, "later")
        w.wait_event("deployment.gone", timeout=60)
        iw.wait_until(lambda: any(d["path"] == "/am/api/v2/alerts" for d in sink.deliveries()), 60, "an Alertmanager post")
        rc = w.daemon.stop(timeout=60)
        report = open(log).read()
        t.eq(rc, 0, "exit 0 under memcheck (99 would mean errors or leaks)", diag=report[-4000:])
        t.eq(report.strip(), "", "memcheck reported nothing", diag=report[-4000:])


iw.run(main)
