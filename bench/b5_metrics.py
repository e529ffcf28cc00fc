"""B5, /metrics at scale: 10,000 deployments in 10 projects watched through the list endpoint at
a 3 s interval, /metrics served on a configured 127.0.0.1 port. First single scrapes, each more
than the 500 ms cache apart (every one renders the whole exposition): time to the last byte
and size. Then two 30 s windows: without scrapes, and with 100 scrapes a second asked for (the
issue's load): CLIENTS threads, each starting a scrape every CLIENTS/100 s when the previous one
is done, reading the whole body into a reused buffer (the bytes are counted, not kept, so that
the client costs as little as it can); in each window, the daemon's CPU and the list requests
the simulator counted (a missed poll would show as fewer requests in the second window).
"""

import http.client
import re
import socket
import threading
import time

from benchlib import TOKEN, Figure, Sampler, daemon_config, iw, percentile, proc_status, progress, stop_usage, write_csv

BENCH = "B5 metrics"
PROJECTS = 10
PAGE_SIZE = 100
INTERVAL = 3
WINDOW = 30.0
RATE = 100
CLIENTS = 4


def scrape(port):
    """Seconds to the last byte, and the size of the body."""
    t = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError("GET /metrics: %d" % r.status)
    finally:
        c.close()
    return time.monotonic() - t, len(body)


def lists(s):
    return s["counters"]["by_endpoint"].get("list", 0)


def lean_scrape(port, buf):
    """One GET /metrics, the body read into buf and dropped; True when answered 200."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        n = c.recv_into(buf)
        head = bytes(buf[:n])
        ok = head.startswith(b"HTTP/1.1 200")
        while n:
            n = c.recv_into(buf)
    return ok


def scrapers(port, end):
    """CLIENTS threads asking for RATE scrapes a second in all until end; (answered, failed)."""
    counts = [0, 0]
    lock = threading.Lock()

    def client():
        buf = bytearray(1 << 20)
        due = time.monotonic()
        while time.monotonic() < end:
            ok = lean_scrape(port, buf)
            with lock:
                counts[0 if ok else 1] += 1
            due += CLIENTS / RATE
            time.sleep(max(0.0, due - time.monotonic()))
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def window(s, port=None):
    """A WINDOW-long sample; with port, RATE scrapes a second asked for meanwhile."""
    a = s.sample()
    end = time.monotonic() + WINDOW
    n = failed = 0
    if port is None:
        time.sleep(WINDOW)
    else:
        n, failed = scrapers(port, end)
        if failed:
            raise RuntimeError("%d scrapes were not answered 200" % failed)
    b = s.sample()
    wall = b["t"] - a["t"]
    return {"scrapes": n, "scrapes_per_s": n / wall, "wall_s": wall, "cpu_s": b["cpu"] - a["cpu"],
            "cpu_percent": 100 * (b["cpu"] - a["cpu"]) / wall, "list_requests": lists(b) - lists(a)}


def run(ctx):
    per_project = 100 if ctx.quick else 1000
    n = PROJECTS * per_project
    pages = PROJECTS * (per_project // PAGE_SIZE)
    fleets = [{"project_id": p, "prefix": "dep-%02d-" % p, "count": per_project, "regions": [1, 7], "ready": 2}
              for p in range(1, PROJECTS + 1)]
    sim = iw.Sim({"fleets": fleets}, tokens=(TOKEN,))
    key = iw.write_secret("api-key", TOKEN)
    conf = daemon_config(sim, key, iw.tmpdir("state-"), [(p, "*") for p in range(1, PROJECTS + 1)],
                         interval="%ds" % INTERVAL, account_extra="page_size = %d;" % PAGE_SIZE,
                         top='metrics = { listen = "127.0.0.1:0"; };\n')
    d = iw.Daemon(conf, args=["--log-target=stderr"])
    line = iw.wait_until(lambda: re.search(r"Serving /metrics on port (\d+)", d.stderr()), 30, "the metrics port")
    port = int(line.group(1))
    s = Sampler(sim, d.pid)
    iw.wait_until(lambda: lists(s.sample()) >= 2 * pages, 300, "two list cycles", interval=0.1)

    times, size = [], 0
    for _ in range(5 if ctx.quick else 20):
        t, size = scrape(port)
        times.append(t)
        time.sleep(0.6)  # past the cache: the next scrape renders again
    quiet = window(s)
    busy = window(s, port)
    hwm = proc_status(d.pid, "VmHWM")
    stop_usage(d.proc)
    sim.stop()
    row = {"deployments": n, "interval_s": INTERVAL, "exposition_bytes": size,
           "scrape_median_s": percentile(times, 50), "scrape_max_s": max(times),
           "quiet_cpu_percent": quiet["cpu_percent"], "quiet_list_requests": quiet["list_requests"],
           "scrapes_per_s": busy["scrapes_per_s"], "busy_cpu_percent": busy["cpu_percent"],
           "busy_list_requests": busy["list_requests"], "vmhwm_kib": hwm}
    write_csv(ctx.csv("b5-metrics.csv"), [row])
    progress("B5: %d deployments, %.1f MB exposition, scrape %.3f s median; %.0f scrapes/s: CPU %.0f%% "
             "(%.0f%% without), %d list requests (%d without)"
             % (n, size / 1e6, row["scrape_median_s"], row["scrapes_per_s"], row["busy_cpu_percent"],
                row["quiet_cpu_percent"], row["busy_list_requests"], row["quiet_list_requests"]))
    expected = WINDOW / INTERVAL * pages
    figs = [
        Figure(BENCH, "exposition size (%d deployments)" % n, size / 1e6, "MB", fmt="%.1f"),
        Figure(BENCH, "one scrape, median (renders)", row["scrape_median_s"], "s", 0.5, "<=", fmt="%.3f"),
        Figure(BENCH, "one scrape, slowest (renders)", row["scrape_max_s"], "s", 1.0, "<=", fmt="%.3f"),
        Figure(BENCH, "scrapes per second reached, of %d asked for" % RATE, row["scrapes_per_s"], "/s", RATE * 0.95,
               ">=", fmt="%.0f", note="%d clients" % CLIENTS),
        Figure(BENCH, "daemon CPU while scraped", row["busy_cpu_percent"], "% of a core", fmt="%.0f"),
        Figure(BENCH, "daemon CPU without scrapes", row["quiet_cpu_percent"], "% of a core", fmt="%.1f"),
        Figure(BENCH, "list requests while scraped, of those expected", busy["list_requests"] / expected, "",
               0.9, ">=", fmt="%.2f", note="%.0f expected in %.0f s" % (expected, WINDOW)),
        Figure(BENCH, "peak RSS", hwm / 1024, "MiB", fmt="%.0f"),
    ]
    return {"name": BENCH, "figures": figs, "rows": [row]}
