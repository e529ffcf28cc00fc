"""inferwatchd --once against every fault the simulator injects, on get-one and on list requests:
each is a poll failure (exit 3, health unknown, an error that names the problem), never a crash,
never a fake status, never retried; the deployments the fault does not touch are still reported."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oncelib as ol  # noqa: E402
from oncelib import iw  # noqa: E402

NOT_JSON = "HTTP 200 with an unusable body: response is not valid JSON"
GET_NOT_OBJECT = "HTTP 200 with an unusable body: response is not a JSON object"
LIST_NO_RESULTS = 'HTTP 200 with an unusable body: list response has no "results" array'
NO_STATUS = 'HTTP 200 with an unusable body: response has no "status" string'
NO_NAME = 'HTTP 200 with an unusable body: response has no "name" string'
TOO_LARGE = "response body larger than the configured limit"
SIM_500 = "Simulated failure."

# label, kind, options, account extra config, get-one error needles, list error needles
FAULTS = [
    ("500", "status", {}, "", ["HTTP 500: " + SIM_500], ["HTTP 500: " + SIM_500]),
    ("502", "status", {"status": 502}, "", ["HTTP 502: " + SIM_500], ["HTTP 502: " + SIM_500]),
    ("503 with Retry-After", "status", {"status": 503, "retry_after": "30"}, "",
     ["HTTP 503: " + SIM_500], ["HTTP 503: " + SIM_500]),
    ("500 with an HTML body", "status", {"status": 500, "body": "<html>Bad Gateway</html>"}, "",
     ["HTTP 500"], ["HTTP 500"]),
    ("400 (permanent)", "status", {"status": 400}, "", ["HTTP 400"], ["HTTP 400"]),
    ("403 (permanent)", "status", {"status": 403}, "", ["HTTP 403"], ["HTTP 403"]),
    ("429 Retry-After seconds", "429", {"retry_after": "30"}, "",
     ["HTTP 429: Request was throttled."], ["HTTP 429: Request was throttled."]),
    ("429 Retry-After date", "429", {"retry_after": "Wed, 21 Oct 2037 07:28:00 GMT"}, "",
     ["HTTP 429"], ["HTTP 429"]),
    ("429 without Retry-After", "429", {}, "", ["HTTP 429"], ["HTTP 429"]),
    ("hang", "hang", {}, "", ["timeout after 1s"], ["timeout after 1s"]),
    ("reset", "reset", {}, "", ["connection reset"], ["connection reset"]),
    ("malformed", "malformed", {}, "", [NOT_JSON], [NOT_JSON]),
    ("truncated", "truncated", {}, "", [NOT_JSON], [NOT_JSON]),
    ("wrongtype array", "wrongtype", {}, "", [GET_NOT_OBJECT], [LIST_NO_RESULTS]),
    ("wrongtype null", "wrongtype", {"variant": "null"}, "", [GET_NOT_OBJECT], [LIST_NO_RESULTS]),
    ("wrongtype string", "wrongtype", {"variant": "string"}, "", [GET_NOT_OBJECT], [LIST_NO_RESULTS]),
    ("wrongtype no_status", "wrongtype", {"variant": "no_status"}, "", [NO_STATUS], [NO_STATUS]),
    ("wrongtype wrong_types", "wrongtype", {"variant": "wrong_types"}, "", [NO_NAME], [LIST_NO_RESULTS]),
    ("oversize 1MiB, cap 64KiB", "oversize", {"size": 1 << 20}, 'max_response_size = "64KiB";',
     [TOO_LARGE], [TOO_LARGE]),
    ("oversize 16MiB, default 8MiB cap", "oversize", {}, "", [TOO_LARGE], [TOO_LARGE]),
    ("slow (10 B/s)", "slow", {}, "", ["timeout after 1s"], ["timeout after 1s"]),
]
TEXT_TOO = {"500", "hang", "reset", "malformed", "oversize 1MiB, cap 64KiB"}
# libcurl retries a GET once, on a fresh connection, when a reused keep-alive connection dies
# before any answer (a server closing an idle connection looks the same): a one-shot reset can
# then succeed. So resets stay in force, and one such retry per request is allowed.
PERSIST = {"reset"}
LISTED = ["p-0", "p-1", "p-2"]  # project 2, "*", two pages of 2


def scenario():
    deps = [{"project_id": 1, "name": n, "status": "ACTIVE", "regions": [1, 7]} for n in ("a", "b")]
    deps += [{"project_id": 2, "name": n, "status": "ACTIVE"} for n in LISTED]
    return {"deployments": deps,
            "fleets": [{"project_id": 3, "prefix": "big-", "count": 100, "regions": [1, 7],
                        "envs": {"MODEL": "meta-llama/Llama-3-8B-Instruct"}}]}


def conf(sim, key, extra="", top=""):
    return ol.config(sim, key, [ol.named(1, "a", "b"), ol.every(2)], "page_size = 2; " + extra, top=top)


def check_untouched(t, r, label, skip_a=False, skip_list=False):
    """The deployments no fault was aimed at are polled and healthy."""
    want = ([] if skip_a else [(1, "a")]) + [(1, "b")] + ([] if skip_list else [(2, n) for n in LISTED])
    got = sorted((x["project_id"], x["deployment"]) for x in r.rows()
                 if x["health"] == "healthy" and x["status"] == "ACTIVE" and x["error"] is None)
    t.eq(got, sorted(want), "%s: the other deployments are healthy" % label)


def test_fault(t, sim, key, label, kind, kw, extra, get_needles, list_needles):
    sim.clear_faults()
    sim.reset_counters()
    once = {} if kind in PERSIST else {"count": 1}
    sim.fault(kind, endpoint="get", project_id=1, name="a", **once, **kw)
    sim.fault(kind, endpoint="list", project_id=2, **once, **kw)
    c = conf(sim, key, extra)
    r = ol.once(t, c, label, True, 3)
    ol.check_unpolled(t, r, "a", get_needles, label + " (get-one)", project=1)
    ol.check_unpolled(t, r, "*", list_needles, label + " (list)", project=2)
    t.eq(sorted(x["deployment"] for x in r.rows() if x["project_id"] == 2), ["*"],
         "%s: a failed first page gives one \"*\" row, no stale or invented deployments" % label)
    check_untouched(t, r, label, skip_a=True, skip_list=True)
    cnt = sim.counters()
    got = (cnt["by_deployment"], cnt["by_project_list"])
    if kind in PERSIST:
        t.ok(got[0].get("1/b") == 1 and got[0].get("1/a") in (1, 2) and got[1].get("2") in (1, 2)
             and len(got[0]) == 2 and len(got[1]) == 1,
             "%s: one request each (a reused connection's reset is retried once by libcurl)" % label, got)
        if got != ({"1/a": 1, "1/b": 1}, {"2": 1}):
            t.diag("%s: libcurl retried on a fresh connection: %r" % (label, got))
    else:
        t.eq(got, ({"1/a": 1, "1/b": 1}, {"2": 1}),
             "%s: one request per deployment and one list page, nothing retried" % label)
    if label in TEXT_TOO:
        sim.clear_faults()
        sim.fault(kind, endpoint="get", project_id=1, name="a", **once, **kw)
        x = ol.once(t, c, label + " [text]", False, 3)
        row = ol.table_row(x, "a", 1)
        t.ok(row and row["status"] == "-" and row["health"] == "unknown" and row["regions"] == ["-"]
             and all(n.lower() in row["error"].lower() for n in get_needles),
             "%s [text]: the row is unknown with the error in the last column" % label, x.diag())
        t.eq(x.first, "INFERWATCH UNKNOWN - 1 unknown, 4 healthy", "%s [text]: Nagios line" % label)
    sim.clear_faults()  # releases requests a hang still holds


def test_pipewait(t, sim, key):
    """A hung or slow get-one must not hold back the other requests (they are concurrent)."""
    for kind in ("hang", "slow"):
        sim.clear_faults()
        sim.reset_counters()
        sim.fault(kind, endpoint="get", project_id=1, name="a")
        r = ol.once(t, conf(sim, key), "concurrent, %s on a" % kind, True, 3)
        ol.check_unpolled(t, r, "a", ["timeout after 1s"], "concurrent, %s on a" % kind, project=1)
        others = sorted((x["project_id"], x["deployment"], x["health"]) for x in r.rows() if x["deployment"] != "a")
        t.ok(others == [(1, "b", "healthy")] + [(2, n, "healthy") for n in LISTED],
             "concurrent, %s on a: b and the listed deployments are healthy" % kind,
             "got %r; the simulator received %r" % (others, sim.counters()))
    sim.clear_faults()


def test_controls(t, sim, key):
    """The same kinds below their threshold are not failures: the cap and the timeout decide."""
    sim.clear_faults()
    sim.fault("oversize", endpoint="get", name="a", size=32 * 1024)
    r = ol.once(t, conf(sim, key, 'max_response_size = "64KiB";'), "oversize under the cap", True, 3)
    ol.check_unpolled(t, r, "a", [NOT_JSON], "oversize 32KiB under a 64KiB cap: unfinished JSON, not too large",
                      project=1)
    sim.clear_faults()
    sim.fault("slow", endpoint="any", bytes_per_second=20000)
    r = ol.once(t, conf(sim, key), "slow but within the timeout", True, 0)
    check_untouched(t, r, "slow at 20 kB/s, within 1s")
    sim.clear_faults()

    # A genuine list page above the cap: the whole project is a poll failure, nothing invented.
    small = ol.config(sim, key, [ol.every(3)], 'page_size = 1000; max_response_size = "64KiB";')
    r = ol.once(t, small, "real page above the cap", True, 3)
    ol.check_unpolled(t, r, "*", [TOO_LARGE], "a 100-deployment page above a 64KiB cap", project=3)
    t.eq(len(r.rows()), 1, "real page above the cap: only the \"*\" row")
    r = ol.once(t, ol.config(sim, key, [ol.every(3)], "page_size = 1000;"), "same page, default cap", True, 0)
    t.eq(len([x for x in r.rows() if x["health"] == "healthy"]), 100, "default cap: all 100 listed and healthy")


def test_later_page(t, sim, key):
    """A fault on every list request after a first good page: the page-1 rows stay, plus "*"."""
    sim.clear_faults()
    sim.reset_counters()
    # Faults apply in the order added: a harmless one-shot (a fast "slow") takes page 1, the
    # 503 takes page 2.
    sim.fault("slow", endpoint="list", project_id=2, count=1, bytes_per_second=1000000)
    sim.fault("status", endpoint="list", project_id=2, status=503)
    r = ol.once(t, ol.config(sim, key, [ol.every(2)], "page_size = 2;"), "second page fails", True, 3)
    t.eq(sorted((x["deployment"], x["health"]) for x in r.rows()),
         [("*", "unknown"), ("p-0", "healthy"), ("p-1", "healthy")],
         "second page fails: the first page's deployments and a \"*\" row")
    star = r.row("*", 2)
    t.eq(star and star["error"], "HTTP 503: " + SIM_500, "second page fails: the \"*\" row says why")
    t.eq(sim.counters()["by_project_list"], {"2": 2}, "second page fails: two list requests, no retry")
    sim.clear_faults()


def test_all_at_once(t, sim, key):
    """Every fault kind at the same time on different deployments: one run, no crash."""
    sim.clear_faults()
    kinds = [(k, kw) for _, k, kw, extra, _, _ in FAULTS if not extra]
    names = ["f%02d" % i for i in range(len(kinds))]
    for n in names:
        sim.set(4, n, status="ACTIVE")
    for n, (k, kw) in zip(names, kinds):
        sim.fault(k, endpoint="get", project_id=4, name=n, **kw)
    r = ol.once(t, ol.config(sim, key, [ol.named(4, *names), ol.named(1, "a")]), "all faults at once", True, 3)
    t.eq(sorted((x["deployment"], x["health"], x["status"]) for x in r.rows()),
         sorted([(n, "unknown", None) for n in names] + [("a", "healthy", "ACTIVE")]),
         "all faults at once: every faulted deployment unknown, the other healthy")
    t.ok(all(x["error"] for x in r.rows() if x["deployment"] != "a"),
         "all faults at once: every unknown row has an error", r.diag())
    sim.clear_faults()


def main(t):
    with iw.Sim(scenario(), tokens=(ol.TOKEN,)) as sim:
        key = iw.write_secret("api-key", ol.TOKEN)
        r = ol.once(t, conf(sim, key), "no fault", True, 0)
        check_untouched(t, r, "no fault")
        for label, kind, kw, extra, gn, ln in FAULTS:
            with t.case("fault " + label):
                test_fault(t, sim, key, label, kind, kw, extra, gn, ln)
        with t.case("a hung request does not hold back the others"):
            test_pipewait(t, sim, key)
        with t.case("below the thresholds"):
            test_controls(t, sim, key)
        with t.case("a later list page fails"):
            test_later_page(t, sim, key)
        with t.case("every fault at once"):
            test_all_at_once(t, sim, key)


if __name__ == "__main__":
    iw.run(main)
