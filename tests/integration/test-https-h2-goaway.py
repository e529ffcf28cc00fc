"""An HTTP/2 server that ends each connection after a few requests the way nginx does after
keepalive_requests (1,000 by default, on every HTTP/2 connection): it answers up to a stream,
sends GOAWAY naming it as the last it processes and closes, leaving a request sent meanwhile
unanswered (tests/harness/h2-goaway-server.py, python3-h2). Such a request was not processed
and may be sent again (RFC 9113 section 8.7); curl 7.88 fails it instead, which made a failed
poll, and a pause of the whole account, at every GOAWAY (daemon/http.c now starts such a GET
again, once). Checked: no poll failure or pause is logged, no deployment changes, and every
unanswered request was asked again on a later connection (which a later poll would also do).
Skipped without python3-h2 or openssl."""

import os
import sys

import scenario

scenario.begin()
import iw  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import h2server  # noqa: E402

PROJECT = 4
NAMES = ["ga-a", "ga-b", "ga-c"]
SIM = {"deployments": [{"project_id": PROJECT, "name": n, "status": "ACTIVE"} for n in NAMES]}
GOAWAYS = 4


def path(name):
    return "/cloud/v3/inference/%d/deployments/%s" % (PROJECT, name)


def main(t):
    reason = h2server.goaway_unavailable()
    if reason:
        t.skip_all(reason)
    with scenario.World(SIM) as w:
        server = h2server.GoawayServer(limit=4)
        server.mirror(w.sim, [path(n) for n in NAMES] + ["/cloud/v1/regions", "/cloud/v3/inference/capacity"])
        conf = w.config([(PROJECT, NAMES)], log_tail_lines="0", interval='"1s"',
                        account_extra='ca_file = "%s"; connect_timeout = "10s"; timeout = "10s";' % server.ca_file)
        w.start(conf.replace('url = "%s";' % w.sim.url, 'url = "%s";' % server.url))
        w.wait_event("deployment.discovered", count=3, timeout=60)
        iw.wait_until(lambda: len(server.events("unanswered")) >= GOAWAYS, 90,
                      "%d requests left unanswered by a GOAWAY" % GOAWAYS)
        unanswered = server.events("unanswered")[:GOAWAYS]
        # Each was asked again on a later connection, where it was answered (a request there).
        iw.wait_until(lambda: all(any(r["conn"] > u["conn"] and r["path"] == u["path"]
                                      for r in server.events("request")) for u in unanswered), 30,
                      "the unanswered requests asked again")
        t.ok(len(server.events("goaway")) >= GOAWAYS and len(server.events("connection")) > GOAWAYS,
             "the server ended %d connections with a GOAWAY" % len(server.events("goaway")))
        t.ok(True, "every request left unanswered was asked again on a later connection")
        failed = [m for m in w.logs() if "failed" in m or "paused" in m]
        t.eq(failed, [], "no poll failure, no pause of the API")
        t.eq(w.types(EVENT="deployment.unobservable") + w.types(EVENT="api.unreachable"), [],
             "no deployment unobservable, no API unreachable")
        t.eq(sorted(e["DEPLOYMENT"] for e in w.events(EVENT="deployment.discovered")), NAMES,
             "the three deployments, discovered once each")
        scenario.no_sanitizer_report(t, w.daemon)
        server.stop()


if __name__ == "__main__":
    iw.run(main)
