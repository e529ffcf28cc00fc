"""The API budget, read from the simulator's counters: a stable deployment costs one request
per interval, a transitional one one per fast_interval."""

import scenario

scenario.begin()
import iw  # noqa: E402


def main(t):
    sim_scenario = {"deployments": [
        {"project_id": 1, "name": "stable", "status": "ACTIVE"},
        {"project_id": 1, "name": "moving", "status": "DEPLOYING"},
    ]}
    with scenario.World(sim_scenario) as w:
        w.start(w.config([(1, ["stable", "moving"])], interval='"2s"', fast_interval='"250ms"'))
        w.wait_event("deployment.discovered", count=2)
        count = lambda name: w.sim.counters()["by_deployment"].get("1/" + name, 0)  # noqa: E731
        # Measure from one poll of the stable deployment to the fourth after it: three intervals.
        s0 = count("stable")
        iw.wait_until(lambda: count("stable") >= s0 + 1, 10, "a poll of the stable one")
        m0, s1 = count("moving"), count("stable")
        iw.wait_until(lambda: count("stable") >= s1 + 3, 15, "three more polls of the stable one")
        moving, stable = count("moving") - m0, count("stable") - s1
        t.eq(stable, 3, "stable: one request per interval")
        # 3 intervals of 2 s at 250 ms: 24 polls, give or take the jitter of both clocks.
        t.ok(20 <= moving <= 28, "transitional: one request per fast_interval",
             diag="%d requests for the DEPLOYING one while the ACTIVE one had 3" % moving)
        t.eq(w.sim.counters()["by_status"].get("200"), w.sim.counters()["total"], "every request answered 200")

        w.sim.set(1, "moving", status="ACTIVE", ready=1)
        w.wait_event("deployment.health_changed", DEPLOYMENT="moving", HEALTH="healthy")
        # Once settled (and the damping window passed) it slows down to the interval.
        s2 = count("stable")
        iw.wait_until(lambda: count("stable") >= s2 + 2, 10, "two more intervals")
        m2, s3 = count("moving"), count("stable")
        iw.wait_until(lambda: count("stable") >= s3 + 2, 10, "two more intervals")
        t.ok(count("moving") - m2 <= 3, "a settled deployment is back to one request per interval",
             diag="%d requests in two intervals" % (count("moving") - m2))
        scenario.no_sanitizer_report(t, w.daemon)

    # Requests in flight are bounded: with every request held by the API, no more than
    # max_in_flight reach it.
    names = ["d%d" % i for i in range(10)]
    with scenario.World({"deployments": [{"project_id": 1, "name": n} for n in names]}) as w:
        w.sim.fault("hang", endpoint="get", duration=2.5)
        conf = w.config([(1, names)], max_in_flight="3").replace('timeout = "2s"', 'timeout = "5s"')
        w.start(conf)
        gets = lambda: w.sim.counters()["by_endpoint"]["get"]  # noqa: E731
        iw.wait_until(lambda: gets() >= 3, 10, "three requests")
        samples = []

        def sample():
            # Counted only while the hang surely still holds (the fault expires later).
            g, f = gets(), w.sim.faults()
            if f and (f[0]["expires_in"] or 0) > 0.3:
                samples.append(g)
            return not f
        iw.wait_until(sample, 10, "the hang to end")
        t.eq(max(samples), 3, "max_in_flight = 3: three requests reach a hung API, the others wait their turn")
        w.wait_event("deployment.discovered", count=10, timeout=20)
        t.ok(True, "and every deployment is polled once the API answers again")
        scenario.no_sanitizer_report(t, w.daemon)


iw.run(main)
