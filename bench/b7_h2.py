"""B7, HTTPS over HTTP/1.1 and HTTP/2: the steady state of B1 (inferwatchd watching N named
deployments at a 1 s interval, get-one polls, after a warm-up of 3 polls each) against two TLS
servers on loopback, measured the same way and in the same run: the simulator (libmicrohttpd
with GnuTLS, HTTP/1.1 only) and nghttpd (nghttp2-server, HTTP/2 by ALPN), which serves the
simulator's own get-one answers, copied as files before the run (the same JSON bytes), with a
certificate of a CA made at run time that the daemon trusts through ca_file. The real API
offers HTTP/2 behind its CDN; the simulator cannot.

Per server, one run each for: connections (over a window: the connections that carried their
first request in it, per 1,000 polls; the daemon's established connections to the server at
its end, from /proc; requests per connection = polls / connections open; for HTTP/2, from
nghttpd's frame log, the negotiated protocol and the most streams open at once on one
connection, i.e. requests in flight together; and the daemon's CPU per poll from schedstat,
which moves with the machine's load), system calls (`strace -c -f` attached for a window) and
instructions (callgrind zeroed after the warm-up and dumped after a window, split by the
library that ran them). Polls are counted by the server: the simulator's counters, nghttpd's
frame log (`-v`). The two servers answer with the same body but their own headers, and frame
their answers differently (see the system calls below), so the comparison is of the daemon's
cost against each server as it is, not of the protocols alone. Skipped, and said so, without
nghttpd.
"""

import steady
from benchlib import Figure, progress, write_csv
import h2server  # noqa: E402  (tests/harness, on the path through benchlib)

BENCH = "B7 HTTPS: HTTP/1.1 and HTTP/2"
SCHEMES = (("http/1.1", "simulator", False), ("h2", "nghttpd", True))


def measure(n, window, h2):
    r = steady.reuse(n, 2 * window, tls=True, h2=h2)
    r["syscalls_per_poll"], r["syscalls_by_name"], r["syscall_polls"] = steady.syscalls(n, window, tls=True, h2=h2)
    r["instructions_per_poll"], r["instruction_polls"], path = steady.instructions(n, window, tls=True, h2=h2)
    r["instructions_by_object"] = {k: v / r["instruction_polls"] for k, v in steady.by_object(path).items()}
    return r


def ratio(a, b):
    return a / b if a is not None and b else None


def run(ctx):
    n, window = ctx.param("b7_n", 200, 50), ctx.param("b7_window", 10, 3)
    reason = h2server.unavailable()
    if reason:
        progress("B7 skipped: " + reason)
        return {"name": BENCH, "figures": [], "rows": [], "skipped": reason, "n": n, "window": window}
    rows = []
    for proto, server, h2 in SCHEMES:
        progress("B7 %s (%s): %d deployments at 1 s, windows of %g s (connections: %g s)"
                 % (proto, server, n, window, 2 * window))
        r = measure(n, window, h2)
        r.update({"protocol": proto, "server": server, "deployments": n})
        rows.append(r)
        progress("B7 %s: %.2f new connections per 1,000 polls, %s open, %.0f instructions and %.2f system calls "
                 "per poll" % (proto, r["new_per_1000"], r["open"], r["instructions_per_poll"],
                               r["syscalls_per_poll"]))
    write_csv(ctx.csv("b7-h2.csv"), rows, ["protocol", "server", "deployments", "polls", "new_connections",
                                           "new_per_1000", "open", "requests_per_connection", "max_streams",
                                           "cpu_per_poll_us", "syscall_polls", "syscalls_per_poll",
                                           "instruction_polls", "instructions_per_poll"])
    h1, h2r = rows
    figs = []
    for r in rows:
        p = "HTTP/2" if r["protocol"] == "h2" else "HTTP/1.1"
        figs.append(Figure(BENCH, "%s: new connections per 1,000 polls" % p, r["new_per_1000"], "", 1, "<=",
                           note="%d new in %d polls" % (r["new_connections"], r["polls"])))
        figs.append(Figure(BENCH, "%s: connections open" % p, r["open"], "", fmt="%d",
                           note="%.0f requests per connection" % r["requests_per_connection"]
                           if r["requests_per_connection"] else ""))
        if r["max_streams"] is not None:
            figs.append(Figure(BENCH, "%s: most requests in flight on one connection" % p, r["max_streams"], "",
                               fmt="%d", note="protocols negotiated: %s" % ", ".join(r.get("protocols") or [])))
        figs.append(Figure(BENCH, "%s: instructions per poll" % p, r["instructions_per_poll"], "", fmt="%.0f",
                           note="callgrind, %d polls" % r["instruction_polls"]))
        figs.append(Figure(BENCH, "%s: system calls per poll" % p, r["syscalls_per_poll"], "", fmt="%.2f",
                           note="strace -c, %d polls: %s" % (r["syscall_polls"], ", ".join(
                               "%s %.2f" % kv for kv in list(r["syscalls_by_name"].items())[:6]))))
        figs.append(Figure(BENCH, "%s: CPU per poll" % p, r["cpu_per_poll_us"], "µs", fmt="%.0f",
                           note="schedstat over %d polls" % r["polls"]))
    figs.append(Figure(BENCH, "HTTP/2 / HTTP/1.1: instructions per poll",
                       ratio(h2r["instructions_per_poll"], h1["instructions_per_poll"]), "×", fmt="%.2f"))
    figs.append(Figure(BENCH, "HTTP/2 / HTTP/1.1: system calls per poll",
                       ratio(h2r["syscalls_per_poll"], h1["syscalls_per_poll"]), "×", fmt="%.2f"))
    figs.append(Figure(BENCH, "HTTP/2 / HTTP/1.1: CPU per poll", ratio(h2r["cpu_per_poll_us"], h1["cpu_per_poll_us"]),
                       "×", fmt="%.2f"))
    return {"name": BENCH, "figures": figs, "rows": rows, "n": n, "window": window}
