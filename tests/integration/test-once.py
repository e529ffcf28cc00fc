"""inferwatchd --once against the simulator over real HTTP: every health class, the Nagios exit
codes and their precedence, "*" projects across list pages with exact request counts, 401 and
404, an invalid configuration, and usage errors. Faults: test-once-faults.py; schema drift:
test-once-drift.py."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oncelib as ol  # noqa: E402
from oncelib import iw  # noqa: E402

PULL = "Failed to pull image vllm/vllm-openai:v9"
OOM = "OOMKilled: container exceeded its memory limit"

# Project 1: one deployment per health class (named); "ghost" does not exist (gone).
HEALTH = [
    {"name": "healthy", "status": "ACTIVE", "regions": [1, 7]},
    {"name": "deploying", "status": "DEPLOYING", "regions": [1]},
    {"name": "partial-ok", "status": "PARTIALLYDEPLOYED", "regions": [1, 7],
     "containers": [{"region_id": 1, "ready": 1, "total": 1}, {"region_id": 7, "ready": 0, "total": 1}]},
    {"name": "short", "status": "ACTIVE", "regions": [1], "ready": 1, "total": 2},
    {"name": "degraded", "status": "PARTIALLYDEPLOYED", "regions": [1, 7],
     "containers": [{"region_id": 1, "ready": 2, "total": 2},
                    {"region_id": 7, "ready": 0, "total": 1, "error_message": PULL}]},
    {"name": "failed", "status": "PARTIALLYDEPLOYED", "regions": [1, 7],
     "containers": [{"region_id": 1, "ready": 0, "total": 1, "error_message": OOM},
                    {"region_id": 7, "ready": 0, "total": 1, "error_message": PULL}]},
    {"name": "idle", "status": "PENDING"},
    {"name": "disabled", "status": "DISABLED"},
    {"name": "deleting", "status": "DELETING"},
    {"name": "future", "status": "HIBERNATING_V2", "regions": [3]},
]

# name: (status, health, [(region, ready, total, error)])
EXPECTED = {
    "healthy": ("ACTIVE", "healthy", [(1, 1, 1, None), (7, 1, 1, None)]),
    "deploying": ("DEPLOYING", "progressing", [(1, 0, 1, None)]),
    "partial-ok": ("PARTIALLYDEPLOYED", "progressing", [(1, 1, 1, None), (7, 0, 1, None)]),
    "short": ("ACTIVE", "progressing", [(1, 1, 2, None)]),
    "degraded": ("PARTIALLYDEPLOYED", "degraded", [(1, 2, 2, None), (7, 0, 1, PULL)]),
    "failed": ("PARTIALLYDEPLOYED", "failed", [(1, 0, 1, OOM), (7, 0, 1, PULL)]),
    "idle": ("PENDING", "idle", [(1, 0, 0, None)]),
    "disabled": ("DISABLED", "disabled", [(1, 0, 0, None)]),
    "deleting": ("DELETING", "deleting", [(1, 0, 1, None)]),
    "future": ("HIBERNATING_V2", "progressing", [(3, 0, 1, None)]),
}

FLEET = 10  # project 2: d-00 ... d-09, listed through "*"


def scenario():
    deps = [dict(d, project_id=1) for d in HEALTH]
    deps.append({"project_id": 5, "name": "a", "status": "ACTIVE"})
    deps.append({"project_id": 5, "name": "b", "status": "ACTIVE"})
    return {"deployments": deps, "projects": [4],
            "fleets": [{"project_id": 2, "prefix": "d-", "digits": 2, "count": FLEET, "status": "ACTIVE",
                        "regions": [1, 7]}]}


def test_each_health(t, sim, key):
    names = [d["name"] for d in HEALTH] + ["ghost"]
    sim.reset_counters()
    j, x = ol.both(t, ol.config(sim, key, [ol.named(1, *names)]), "every health class", 2)
    for name, (status, health, conts) in EXPECTED.items():
        row = j.row(name)
        if not t.ok(row is not None, "%s: has a JSON row" % name, j.diag()):
            continue
        t.eq((row["account"], row["project_id"], row["status"], row["health"], row["error"]),
             ("default", 1, status, health, None), "%s: status %s, health %s, no error" % (name, status, health))
        t.eq(ol.containers(row), conts, "%s: containers (region, ready, total, error_message)" % name)
    ghost = j.row("ghost")
    t.eq(ghost and (ghost["status"], ghost["health"], ghost["containers"], ghost["error"]),
         (None, "gone", [], None), "ghost (404): health gone, no status, no containers")
    t.eq(j.doc and j.doc["summary"],
         "1 failed, 1 gone, 1 degraded, 4 progressing, 1 healthy, 1 idle, 1 disabled, 1 deleting",
         "summary counts every class, worst first")
    t.eq(sorted(r["deployment"] for r in j.rows()), sorted(names), "one row per named deployment")

    # The text table: regions as region:ready/total, container errors in the last column.
    deg = ol.table_row(x, "degraded", 1)
    t.eq(deg and (deg["status"], deg["health"], deg["regions"], deg["error"]),
         ("PARTIALLYDEPLOYED", "degraded", ["1:2/2", "7:0/1"], "region 7: " + PULL),
         "text: degraded row with its regions and region 7's error")
    fail = ol.table_row(x, "failed", 1)
    t.eq(fail and (fail["health"], fail["error"]), ("failed", "region 1: %s; region 7: %s" % (OOM, PULL)),
         "text: failed row lists both regions' errors")
    ghost = ol.table_row(x, "ghost", 1)
    t.eq(ghost and (ghost["status"], ghost["health"], ghost["regions"], ghost["error"]),
         ("-", "gone", ["-"], ""), "text: gone row has no status and no regions")
    fut = ol.table_row(x, "future", 1)
    t.eq(fut and (fut["status"], fut["health"], fut["regions"]), ("HIBERNATING_V2", "progressing", ["3:0/1"]),
         "text: the unknown status is shown as served")

    c = sim.counters()
    t.eq((c["by_endpoint"]["get"], c["by_endpoint"]["list"]), (2 * len(names), 0),
         "one get-one per named deployment per run, no list request")
    t.eq(c["by_deployment"], {"1/" + n: 2 for n in names}, "every named deployment asked exactly once per run")


def test_precedence(t, sim, key):
    """OK < WARNING < UNKNOWN < CRITICAL, with a poll failure made by a 503 on one deployment."""
    sim.fault("status", status=503, endpoint="get", project_id=1, name="healthy")
    try:
        cases = [
            ("all fine", ["deploying", "partial-ok", "short", "idle", "disabled", "deleting", "future"], 0,
             "INFERWATCH OK - 4 progressing, 1 idle, 1 disabled, 1 deleting"),
            ("degraded only", ["degraded", "idle"], 1, "INFERWATCH WARNING - 1 degraded, 1 idle"),
            ("degraded + unpolled", ["degraded", "healthy"], 3, "INFERWATCH UNKNOWN - 1 degraded, 1 unknown"),
            ("unpolled only", ["healthy", "idle"], 3, "INFERWATCH UNKNOWN - 1 unknown, 1 idle"),
            ("failed + unpolled + degraded", ["failed", "healthy", "degraded"], 2,
             "INFERWATCH CRITICAL - 1 failed, 1 degraded, 1 unknown"),
            ("gone + unpolled", ["ghost", "healthy"], 2, "INFERWATCH CRITICAL - 1 gone, 1 unknown"),
            ("gone only", ["ghost"], 2, "INFERWATCH CRITICAL - 1 gone"),
            ("failed only", ["failed"], 2, "INFERWATCH CRITICAL - 1 failed"),
        ]
        for name, names, rc, first in cases:
            r = ol.once(t, ol.config(sim, key, [ol.named(1, *names)]), name, False, rc)
            t.eq(r.first, first, "%s: Nagios line" % name)
            if "healthy" in names:
                row = ol.table_row(r, "healthy", 1)
                t.eq(row and (row["status"], row["health"], row["error"]),
                     ("-", "unknown", "HTTP 503: Simulated failure."),
                     "%s: the unpolled row says unknown and why" % name)
    finally:
        sim.clear_faults()


def test_pages(t, sim, key):
    """A "*" project across pages: one list request per page, no get-one, every deployment once."""
    sim.set(2, "d-03", status="DEPLOYING")
    sim.set(2, "d-07", status="PENDING")
    sim.set(2, "d-09", status="PARTIALLYDEPLOYED",
            containers=[{"region_id": 7, "ready": 0, "error_message": PULL}])
    fleet = ["d-%02d" % i for i in range(FLEET)]
    for page_size, pages in ((3, 4), (5, 2), (10, 1), (1000, 1), (1, 10)):
        name = "page_size %d" % page_size
        sim.reset_counters()
        conf = ol.config(sim, key, [ol.named(5, "a", "b"), ol.every(2)], 'page_size = %d;' % page_size)
        r = ol.once(t, conf, name, True, 1)
        got = [x["deployment"] for x in r.rows() if x["project_id"] == 2]
        t.eq(sorted(got), fleet, "%s: every deployment of the project exactly once" % name)
        c = sim.counters()
        t.eq((c["by_endpoint"]["list"], c["by_project_list"], c["by_endpoint"]["get"], c["by_deployment"]),
             (pages, {"2": pages}, 2, {"5/a": 1, "5/b": 1}),
             "%s: %d list requests (one per page), get-one only for the 2 named" % (name, pages))
        if page_size == 3:
            health = {x["deployment"]: (x["status"], x["health"]) for x in r.rows() if x["project_id"] == 2}
            t.eq([health[n] for n in ("d-00", "d-03", "d-07", "d-09")],
                 [("ACTIVE", "healthy"), ("DEPLOYING", "progressing"), ("PENDING", "idle"),
                  ("PARTIALLYDEPLOYED", "degraded")], "%s: each listed deployment has its own health" % name)
            t.eq(r.doc["summary"], "1 degraded, 1 progressing, 9 healthy, 1 idle",
                 "%s: summary over both projects" % name)
            x = ol.once(t, conf, name + " [text]", False, 1)
            t.eq(sorted(row["deployment"] for row in x.table if row["project"] == "2"), fleet,
                 "%s: the text table lists each deployment once" % name)
            d9 = ol.table_row(x, "d-09", 2)
            t.eq(d9 and (d9["regions"], d9["error"]), (["1:1/1", "7:0/1"], "region 7: " + PULL),
                 "%s: a listed deployment's containers and error in the table" % name)

    sim.reset_counters()
    r = ol.once(t, ol.config(sim, key, [ol.every(4)]), "empty project", False, 0)
    t.eq((r.first, r.table), ("INFERWATCH OK - no deployments", []), "empty \"*\" project: OK, no rows")
    t.eq(sim.counters()["by_project_list"], {"4": 1}, "empty project: one list request")

    r = ol.once(t, ol.config(sim, key, [ol.every(9), ol.named(5, "a")]), "unknown project", True, 3)
    star = r.row("*", 9)
    t.eq(star and (star["status"], star["health"], star["containers"], star["error"]),
         (None, "unknown", [], "HTTP 404: Project 9 could not be found"),
         "unknown project: a \"*\" row with the 404 and the API's message")
    t.eq(r.row("a", 5) and r.row("a", 5)["health"], "healthy", "unknown project: the other project is polled")


def test_max_in_flight(t, sim, key):
    """max_in_flight = 1: the queue still drains, every deployment polled exactly once."""
    sim.reset_counters()
    names = [d["name"] for d in HEALTH]
    conf = ol.config(sim, key, [ol.named(1, *names), ol.every(2)], "page_size = 4;", top="max_in_flight = 1;\n")
    r = ol.once(t, conf, "max_in_flight 1", True, 2)
    t.eq(len(r.rows()), len(names) + FLEET, "max_in_flight 1: every deployment has a row")
    c = sim.counters()
    t.eq((c["by_endpoint"]["get"], c["by_endpoint"]["list"]), (len(names), 3),
         "max_in_flight 1: one get-one each, 3 list pages")


def test_auth(t, sim, key):
    wrong = "iw-wrong-key-5d2c8e1a9b70"
    bad = iw.write_secret("wrong-key", wrong + "\n")
    secrets = (ol.TOKEN, wrong, wrong[5:])
    sim.reset_counters()
    conf = ol.config(sim, bad, [ol.named(1, "healthy"), ol.every(2)])
    for json_mode in (True, False):
        name = "wrong key [%s]" % ("json" if json_mode else "text")
        r = ol.run(conf, json_mode)
        ol.check_sane(t, r, name, secrets)
        t.eq(r.rc, 3, "%s: exit 3" % name)
        msg = "HTTP 401: Bad permanent token: " + wrong[:5]
        if json_mode:
            got = [(x["project_id"], x["deployment"], x["status"], x["health"], x["error"]) for x in r.rows()]
            t.eq(sorted(got), [(1, "healthy", None, "unknown", msg), (2, "*", None, "unknown", msg)],
                 "%s: the named row and the list row are unknown with the 401 and the API's message" % name)
        else:
            t.eq(r.first, "INFERWATCH UNKNOWN - 2 unknown", "%s: Nagios line" % name)
            t.eq(sorted((x["deployment"], x["error"]) for x in r.table), [("*", msg), ("healthy", msg)],
                 "%s: the table shows the 401 on both rows" % name)
    c = sim.counters()
    t.eq((c["by_status"], c["by_endpoint"]["get"], c["by_endpoint"]["list"]), ({"401": 4}, 2, 2),
         "wrong key: one request per row and run, no retry")

    # Two accounts: the good one's rows are unaffected by the other's 401.
    accs = [ol.account(sim, key, "good"), ol.account(sim, bad, "bad")]
    conf = ol.config(sim, key, [ol.named(1, "degraded", acc="good"), ol.named(5, "a", acc="bad")], accounts=accs)
    r = ol.run(conf)
    ol.check_sane(t, r, "two accounts", secrets)
    t.eq(r.rc, 3, "two accounts: exit 3 (unknown outranks the degraded one)")
    got = sorted((x["account"], x["deployment"], x["health"], x["error"]) for x in r.rows())
    t.eq(got, [("bad", "a", "unknown", "HTTP 401: Bad permanent token: " + wrong[:5]),
               ("good", "degraded", "degraded", None)], "two accounts: rows carry their account")

    sim.reset_counters()
    r = ol.once(t, ol.config(sim, key, [ol.named(1, "ghost", "healthy")]), "named 404", True, 2)
    g = r.row("ghost")
    t.eq(g and (g["status"], g["health"], g["error"]), (None, "gone", None), "named 404: gone, not an error")
    t.eq(sim.counters()["by_status"], {"404": 1, "200": 1}, "named 404: asked once, not retried")


def test_config(t, sim, key):
    text = ('accounts = ( { url = "%s"; key_file = "%s"; page_size = 0; } );\n'
            'projects = ( { id = 1; deployments = [ "healthy" ]; } );\n'
            'interval = "abc";\n' % (sim.url, key))
    sim.reset_counters()
    d = iw.Daemon(text, ["--once"])
    rc = d.wait_exit(ol.RUN_TIMEOUT)
    path = d.config_path
    t.eq((rc, d.stdout()), (3, "INFERWATCH UNKNOWN - invalid configuration %s\n" % path),
         "invalid config: exit 3, one Nagios UNKNOWN line naming the file")
    err = d.stderr()
    t.ok("%s:1: accounts[0].page_size: must be between 1 and 1000, got 0" % path in err
         and '%s:3: interval: invalid duration "abc"' % path in err,
         "invalid config: every problem as FILE:LINE: message on stderr", err)
    t.eq(sim.counters()["total"], 0, "invalid config: no API request")

    rc, out, err_t = iw.run_once(text, ["-t"], timeout=ol.RUN_TIMEOUT)
    t.eq(rc, 78, "-t on the same config: exit 78")
    t.ok("1: accounts[0].page_size: must be between 1 and 1000, got 0" in err_t
         and '3: interval: invalid duration "abc"' in err_t, "-t: the same diagnostics", err_t)

    syntax = ('accounts = ( { url = "%s"; key_file = "%s"; } );\n'
              'projects = ( { id = 1; deployments = [ "healthy" ]; } );\n\n'
              'interval = ;\n' % (sim.url, key))
    rc, out, err = iw.run_once(syntax, ["--once"], timeout=ol.RUN_TIMEOUT)
    t.ok(rc == 3 and out.startswith("INFERWATCH UNKNOWN - invalid configuration ")
         and ":4: syntax error" in err, "syntax error: exit 3, Nagios line, FILE:LINE on stderr",
         "rc=%r\n%s\n%s" % (rc, out, err))

    missing = ('accounts = ( { url = "%s"; key_file = "/nonexistent/inferwatch-key"; } );\n'
               'projects = ( { id = 1; deployments = [ "healthy" ]; } );\n' % sim.url)
    rc, out, err = iw.run_once(missing, ["--once"], timeout=ol.RUN_TIMEOUT)
    t.ok(rc == 3 and out.startswith("INFERWATCH UNKNOWN - invalid configuration ")
         and ':1: accounts[0].key_file: cannot read "/nonexistent/inferwatch-key"' in err,
         "unreadable key_file: exit 3 and the file's line", "rc=%r\n%s\n%s" % (rc, out, err))

    d = iw.Daemon(text, ["--once", "--json"])
    rc = d.wait_exit(ol.RUN_TIMEOUT)
    try:
        doc = json.loads(d.stdout())
    except ValueError:
        doc = None
    t.eq((rc, doc), (3, {"status": "UNKNOWN", "exit_code": 3, "deployments": [],
                         "summary": "invalid configuration %s" % d.config_path}),
         "invalid config with --json: exit 3 and a JSON verdict, no deployments")
    t.ok("%s:1: accounts[0].page_size" % d.config_path in d.stderr(), "--json: diagnostics on stderr", d.stderr())


def test_usage(t, sim, key):
    """A usage error is UNKNOWN (3) with one Nagios line when --once is on the command line,
    wherever it stands; else the usual 2 with nothing on stdout. Conflicting modes and a --json
    without --once or --status are usage errors too. No run makes an API request."""
    conf = ol.config(sim, key, [ol.named(1, "healthy")])
    once_cases = [
        (["--once", "--bogus"], 'unknown option "--bogus"'),
        (["--bogus", "--once"], 'unknown option "--bogus"'),
        (["--once", "--json", "-x"], 'unknown option "-x"'),
        (["--once", "--log-level=loud"], 'unknown log level "loud"'),
        (["--once", "--log-format"], 'option "--log-format" needs a value'),
        (["--once", "extra"], 'unexpected argument "extra"'),
        (["--once", "-t"], "-t, --once and --status exclude each other"),
        (["--status", "--once", "--json"], "-t, --once and --status exclude each other"),
    ]
    sim.reset_counters()
    for args, problem in once_cases:
        name = " ".join(args)
        rc, out, err = iw.run_once(conf, args, timeout=ol.RUN_TIMEOUT)
        t.eq((rc, out), (3, "INFERWATCH UNKNOWN - invalid command line: %s\n" % problem),
             "%s: exit 3 (UNKNOWN) and one Nagios line naming the problem" % name)
        t.ok("inferwatchd: " + problem in err, "%s: the problem on stderr too" % name, err)
    for args, problem in ((["--bogus"], 'unknown option "--bogus"'),
                          (["-t", "--status"], "-t, --once and --status exclude each other"),
                          (["--json"], "--json needs --once or --status"),
                          (["-t", "--json"], "--json needs --once or --status")):
        name = " ".join(args)
        rc, out, err = iw.run_once(conf, args, timeout=ol.RUN_TIMEOUT)
        t.eq((rc, out), (2, ""), "%s: exit 2 (usage), nothing on stdout" % name)
        t.ok("inferwatchd: " + problem in err, "%s: the problem on stderr" % name, err)
    t.eq(sim.counters()["total"], 0, "usage errors: no API request")


def main(t):
    with iw.Sim(scenario(), tokens=(ol.TOKEN,)) as sim:
        key = iw.write_secret("api-key", ol.TOKEN + "\n")
        with t.case("each health class"):
            test_each_health(t, sim, key)
        with t.case("exit code precedence"):
            test_precedence(t, sim, key)
        with t.case("list pages and request counts"):
            test_pages(t, sim, key)
        with t.case("max_in_flight 1"):
            test_max_in_flight(t, sim, key)
        with t.case("401 and 404"):
            test_auth(t, sim, key)
        with t.case("invalid configuration"):
            test_config(t, sim, key)
        with t.case("usage errors"):
            test_usage(t, sim, key)


if __name__ == "__main__":
    iw.run(main)
