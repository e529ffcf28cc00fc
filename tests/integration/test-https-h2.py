"""The daemon against a real HTTP/2 server over TLS: nghttpd (nghttp2-server) serves the get-one
answers of three named deployments as static files (the simulator's JSON, mirrored), with a
certificate of a CA made at run time (the openssl command) that the account trusts through
ca_file. Checked from nghttpd's own frame log (-v): every connection negotiated h2 by ALPN, the
three deployments' polls share one connection (streams of one HTTP/2 session, not a connection
each); a file rewritten (atomically) to PARTIALLYDEPLOYED with an error_message gives
deployment.status_changed and container.error with that message in the journal and in
--once --json; a ca_file of another CA is a poll failure naming the certificate, with no request
reaching the server and no deployment reported; after nghttpd restarts on its port, one new h2
connection carries the polls again. nghttpd checks a file it serves again at most
every 10 s, so the change is waited for with a generous bound. Skipped without nghttpd."""

import json
import os
import sys

import scenario

scenario.begin()
import iw  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import h2server  # noqa: E402

PROJECT = 4
NAMES = ["h2-a", "h2-b", "h2-c"]
ERROR = "Failed to pull image registry.example.com/llama:v2"
SIM = {"regions": [{"id": 1, "display_name": "Luxembourg"}, {"id": 7, "display_name": "Luxembourg-2"}],
       "deployments": [{"project_id": PROJECT, "name": n, "status": "ACTIVE", "regions": [1, 7]} for n in NAMES]}
# The handshake counts in the connect time (a loaded machine, a sanitizer build); log tails off:
# a static server has no logs endpoint.
ACCOUNT = 'connect_timeout = "10s"; timeout = "20s"; ca_file = "%s";'


def path(name):
    return "/cloud/v3/inference/%d/deployments/%s" % (PROJECT, name)


def config(w, server, ca_file, state=None):
    """The scenario's config with nghttpd as the account's API (the simulator only makes the JSON)."""
    text = w.config([(PROJECT, NAMES)], account_extra=ACCOUNT % ca_file, log_tail_lines="0")
    text = text.replace('url = "%s";' % w.sim.url, 'url = "%s";' % server.url)
    if state:
        text = text.replace('state_directory = "%s";' % w.state, 'state_directory = "%s";' % state)
    return text


def polled(server, times):
    """Every deployment asked for at least `times` times (nghttpd's log)."""
    paths = [p for _, p in server.stats()["paths"]]
    return all(paths.count(path(n)) >= times for n in NAMES)


def summary(stats):
    """The counts of nghttpd's log, never its lines (they hold the request headers, the key too)."""
    return json.dumps({"connections": stats["connections"], "requests": stats["requests"]})


def main(t):
    reason = h2server.unavailable()
    if reason:
        t.skip_all(reason)
    with scenario.World(SIM) as w:
        server = h2server.H2Server()
        server.mirror(w.sim, [path(n) for n in NAMES] + ["/cloud/v1/regions", "/cloud/v3/inference/capacity"])
        w.start(config(w, server, server.ca_file))
        found = w.wait_event("deployment.discovered", count=3, timeout=60)
        t.eq(sorted(e["DEPLOYMENT"] for e in found), NAMES, "the three deployments discovered over HTTP/2")
        iw.wait_until(lambda: polled(server, 3), 60, "three polls of each deployment")
        st = server.stats()
        conns = st["connections"]
        t.ok(conns and all(c["protocol"] == "h2" for c in conns.values()),
             "every connection negotiated h2 (ALPN)", diag=summary(st))
        t.eq(len(conns), 1, "one connection carried every request", diag=summary(st))
        per_conn = {cid: {p for c, p in st["paths"] if c == cid} for cid in conns}
        t.ok(any(all(path(n) in ps for n in NAMES) for ps in per_conn.values()),
             "the polls of the three deployments are streams of the same connection", diag=summary(st))
        t.diag("%d requests, at most %d streams in flight at once"
               % (st["requests"], max(c["max_streams"] for c in conns.values())))

        # An atomic rewrite of one answer: PARTIALLYDEPLOYED, region 7 failing with a message.
        w.sim.set(PROJECT, "h2-b", status="PARTIALLYDEPLOYED", containers=[
            {"region_id": 1, "ready": 1, "total": 1},
            {"region_id": 7, "ready": 0, "total": 1, "error_message": ERROR}])
        server.mirror(w.sim, [path("h2-b")])
        ch = w.wait_event("deployment.status_changed", DEPLOYMENT="h2-b", timeout=60)[0]
        t.eq((ch.get("OLD_STATUS"), ch.get("NEW_STATUS")), ("ACTIVE", "PARTIALLYDEPLOYED"),
             "the rewritten answer is a status change")
        ce = w.wait_event("container.error", DEPLOYMENT="h2-b", timeout=30)[0]
        t.eq((ce.get("REGION_ID"), ce.get("REGION_NAME"), ce.get("ERROR_MESSAGE"), ce.get("READY"), ce.get("TOTAL")),
             ("7", "Luxembourg-2", ERROR, "0", "1"), "container.error names the region and carries the message")
        t.eq([e["DEPLOYMENT"] for e in w.events(EVENT="deployment.status_changed")], ["h2-b"],
             "no other deployment changed")
        st = server.stats()
        t.eq(len(st["connections"]), 1, "still one connection after %d requests" % st["requests"],
             diag=summary(st))

        # --once (its own process, so its own connection) sees the same over HTTP/2.
        rc, out, err = iw.run_once(config(w, server, server.ca_file, iw.tmpdir("once-")), args=["--once", "--json"],
                                   timeout=60)
        try:
            rows = {r["deployment"]: r for r in json.loads(out)["deployments"]}
        except (ValueError, KeyError, TypeError):
            rows = {}
        t.eq(sorted(rows), NAMES, "--once reports the three deployments", diag=out[-2000:] + err[-2000:])
        b = rows.get("h2-b", {})
        t.eq(b.get("status"), "PARTIALLYDEPLOYED", "--once: h2-b PARTIALLYDEPLOYED", diag=json.dumps(b))
        t.ok(ERROR in json.dumps(b), "--once: h2-b carries the error message", diag=json.dumps(b))
        t.eq(len(server.stats()["connections"]), 2, "--once used one connection of its own")

        # nghttpd restarts on its port: the kept connection is dead; the daemon connects again.
        n_logs = len(w.logs())
        server.restart()
        iw.wait_until(lambda: polled(server, 2), 60, "every deployment polled twice after nghttpd's restart")
        st = server.stats()
        t.ok(len(st["connections"]) == 1 and all(c["protocol"] == "h2" for c in st["connections"].values()),
             "after the restart, one new h2 connection carries the polls", diag=summary(st))
        failed = [m for m in w.logs()[n_logs:] if "failed" in m]
        t.diag("poll failures logged across the restart: %d%s" % (len(failed), (": " + failed[0]) if failed else ""))

        # A ca_file of another CA: the handshake fails, a poll failure names the certificate.
        w.daemon.stop()
        scenario.no_sanitizer_report(t, w.daemon)
        other_ca = iw.make_test_ca()[0]
        before = server.stats()["requests"]
        n_logs = len(w.logs())
        w.start(config(w, server, other_ca))
        bad = iw.wait_until(lambda: [m for m in w.logs()[n_logs:] if "certificate" in m.lower()], 60,
                            "a poll failure about the certificate")
        t.ok(any("h2-" in m or "main" in m for m in bad), "the failure names what failed", diag="\n".join(bad[:3]))
        t.eq(server.stats()["requests"], before, "no request reached the server (the handshake failed)")
        t.eq(len(w.events(EVENT="deployment.discovered")), 3, "nothing discovered again, nothing reported")
        t.ok(w.daemon.returncode is None, "the daemon keeps running")
        rc, out, err = iw.run_once(config(w, server, other_ca, iw.tmpdir("once-")), args=["--once"], timeout=60)
        t.ok(rc == 3 and "certificate" in (out + err).lower(), "--once: UNKNOWN (3), the certificate named",
             diag="rc %s\n%s%s" % (rc, out[-1500:], err[-1500:]))
        t.eq(server.stats()["requests"], before, "still no request reached the server")
        scenario.no_sanitizer_report(t, w.daemon)
        server.stop()


if __name__ == "__main__":
    iw.run(main)
