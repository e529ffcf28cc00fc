"""The daemon over HTTPS: the simulator serves TLS with a certificate of a CA made at run time
(the openssl command); with that CA as the account's ca_file, inferwatchd polls it, sees changes
and keeps its connections; without ca_file it refuses the certificate (a poll failure naming
it), reports no deployment and does not crash. Not timed."""

import shutil

import scenario

scenario.begin()
import iw  # noqa: E402

NAMES = ["tls-a", "tls-b"]
# The handshake counts in the connect time: a loaded machine or a sanitizer build may need more
# than the scenarios' 1 s.
SLOW_HANDSHAKE = 'connect_timeout = "10s"; timeout = "20s";'
SIM = {"deployments": [{"project_id": 4, "name": n, "status": "ACTIVE"} for n in NAMES]}


def main(t):
    if not shutil.which("openssl"):
        t.skip_all("the openssl command is not installed")
    with scenario.World(SIM, tls=True) as w:
        t.ok(w.sim.url.startswith("https://"), "the simulator serves HTTPS", diag=w.sim.url)
        w.start(w.config([(4, NAMES)], account_extra='ca_file = "%s"; %s' % (w.sim.ca_file, SLOW_HANDSHAKE)))
        found = w.wait_event("deployment.discovered", count=2)
        t.eq(sorted(e["DEPLOYMENT"] for e in found), NAMES, "both named deployments discovered over HTTPS")
        t.eq({e.get("NEW_STATUS") or e.get("STATUS") for e in found}, {"ACTIVE"}, "with their status",
             diag=str(found))

        w.sim.set(4, "tls-b", status="DEPLOYING", ready=0)
        ch = w.wait_event("deployment.status_changed", DEPLOYMENT="tls-b")[0]
        t.eq((ch.get("OLD_STATUS"), ch.get("NEW_STATUS")), ("ACTIVE", "DEPLOYING"), "a change seen over HTTPS")

        # Connection reuse: the daemon opens a connection only when more polls run at once than
        # it has open (at most 2 here: two deployments); 30 polls (tls-b is polled at
        # fast_interval) without reuse would open 30.
        first = w.sim.counters()
        w.sim.reset_counters()
        iw.wait_until(lambda: w.sim.counters()["total"] >= 30, 60, "30 more polls over HTTPS")
        c = w.sim.counters()
        t.ok(1 <= first["connections"] + c["connections"] <= 2,
             "%d polls over at most 2 TLS connections" % (first["total"] + c["total"]), diag="%s\n%s" % (first, c))
        t.ok(all(k in ("200",) for k in c["by_status"]), "every poll answered 200", diag=str(c["by_status"]))
        scenario.no_sanitizer_report(t, w.daemon)

    with scenario.World(SIM, tls=True) as w:
        w.start(w.config([(4, NAMES)], account_extra=SLOW_HANDSHAKE))
        iw.wait_until(lambda: any("certificate" in m.lower() or "SSL" in m for m in w.logs()), 60,
                      "a poll failure about the certificate")
        bad = [m for m in w.logs() if "certificate" in m.lower() or "SSL" in m]
        t.ok(bad, "without ca_file the certificate is refused", diag="\n".join(w.logs()[-10:]))
        t.eq(w.types(EVENT="deployment.discovered"), [], "no deployment reported from an untrusted server")
        t.eq(w.sim.counters()["total"], 0, "no request reached the API (the handshake failed)")
        t.ok(w.daemon.returncode is None, "the daemon keeps running")
        scenario.no_sanitizer_report(t, w.daemon)


if __name__ == "__main__":
    iw.run(main)
