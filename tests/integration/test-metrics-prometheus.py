"""A real Prometheus server (Debian's prometheus) scrapes inferwatchd watching the simulator,
with the shipped rules loaded: its HTTP API shows the health state set, a region's ready
instances and the open alert before and after the scenario's transitions, and the shipped
InferwatchDown alert fires once the daemon is stopped. Skipped when Prometheus is not installed.

The rules are the shipped file with every "for:" set to 0s (a copy), so that the test waits
scrapes, not minutes; the durations themselves are covered by promtool test rules."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
import metricslib as ml  # noqa: E402
from hooklib import iw  # noqa: E402
from promlib import PROMETHEUS, Prometheus  # noqa: E402

ERROR = {"status": "PARTIALLYDEPLOYED",
         "containers": [{"region_id": 1, "ready": 1}, {"region_id": 7, "ready": 0, "error_message": "Failed to pull image"}]}


def main(t):
    if not os.access(PROMETHEUS, os.X_OK):
        t.skip_all("%s is not installed (Debian package prometheus)" % PROMETHEUS)
    scenario = {"deployments": [{"project_id": 1, "name": "prod-a", "regions": [1, 7]}]}
    with iw.Sim(scenario) as sim:
        d, port = ml.start(h.config(sim, iw.tmpdir("state-"), [{"id": 1, "deployments": ["prod-a"]}], []))
        prom = Prometheus(port)
        a = 'deployment="prod-a",project="1",account="default"'
        try:
            t.eq(prom.wait_value('up{job="inferwatch"}', 1.0), 1.0, "Prometheus scrapes inferwatchd")
            prom.wait_value('inferwatch_deployment_health{%s,health="healthy"}' % a, 1.0)
            t.eq(prom.query('inferwatch_deployment_health{%s} == 1' % a)[0][0]["health"], "healthy",
                 "before: the health state set has healthy, and only healthy, at 1")
            t.eq(prom.value('inferwatch_deployment_region_ready_instances{%s,region="7"}' % a), 1.0,
                 "before: 1 ready instance in region 7")
            t.eq(prom.value('inferwatch_deployment_alert_open{%s}' % a), 0.0, "before: no alert open")
            t.eq(prom.value('ALERTS{alertname="InferwatchDown"}'), None, "InferwatchDown is not firing")

            sim.set(1, "prod-a", **ERROR)
            prom.wait_value('inferwatch_deployment_alert_open{%s}' % a, 1.0)
            t.eq([m["health"] for m, v in prom.query('inferwatch_deployment_health{%s} == 1' % a)], ["degraded"],
                 "after the error: degraded, and only degraded, at 1")
            t.eq(prom.value('inferwatch_deployment_region_ready_instances{%s,region="7"}' % a), 0.0,
                 "after the error: 0 ready in region 7")
            t.eq(prom.value('inferwatch_deployment_region_error{%s,region="7"}' % a), 1.0, "region 7 reports an error")
            t.eq(prom.value('inferwatch_deployment_alert_open{%s}' % a), 1.0, "the alert is open")
            alerts = iw.wait_until(lambda: prom.query('ALERTS{alertname="InferwatchDeploymentDegraded",alertstate="firing"}'),
                                   20, "the shipped InferwatchDeploymentDegraded rule to fire")
            t.eq(alerts[0][0]["deployment"], "prod-a", "the shipped InferwatchDeploymentDegraded rule fires for prod-a")

            sim.set(1, "prod-a", status="ACTIVE", ready=1, containers=[{"region_id": 7, "error_message": None}])
            prom.wait_value('inferwatch_deployment_alert_open{%s}' % a, 0.0)
            t.eq(prom.value('inferwatch_deployment_health{%s,health="healthy"}' % a), 1.0, "resolved: healthy again")
            t.eq(prom.value('inferwatch_deployment_region_ready_instances{%s,region="7"}' % a), 1.0,
                 "resolved: 1 ready in region 7")

            h.stop(t, d)
            prom.wait_value('up{job="inferwatch"}', 0.0)
            firing = iw.wait_until(lambda: prom.query('ALERTS{alertname="InferwatchDown",alertstate="firing"}'), 20,
                                   "InferwatchDown to fire")
            t.eq(firing[0][0].get("severity"), "critical", "the shipped InferwatchDown fires, critical, once stopped")
        except Exception:
            t.diag(prom.log())
            raise
        finally:
            prom.stop()


iw.run(main)
