"""inferwatchd --once parsing schema drift served over real HTTP by the simulator (its raw/unset
shorthands): unknown keys, command as a string, an array or null, nulls in nullable fields,
odd texts are tolerated with a sensible health; a body without status or name, or with
instance counts that cannot be trusted (wrong type, out of range, ready > total, a null
deploy_status or containers), is a poll failure, not a crash, on get-one and inside a list page."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oncelib as ol  # noqa: E402
from oncelib import iw  # noqa: E402


def cont(region, ready, total, error=None, **extra):
    c = {"region_id": region, "deploy_status": {"ready": ready, "total": total}, "error_message": error,
         "address": None, "scale": None}
    c.update(extra)
    return c


NULLABLE = {k: None for k in ("description", "image", "address", "flavor_name", "envs", "logging", "probes",
                              "created_at", "credentials_name", "timeout", "listening_port", "object_references",
                              "ingress_opts", "auth_enabled", "api_keys", "project_id")}

# name: (fields for sim.set, expected status, health, containers [(region, ready, total, error)])
TOLERATED = {
    "unknown-keys": ({"status": "ACTIVE", "raw": {
        "future_field": {"nested": [1, {"deep": None}]}, "gpu_topology": "nvlink", "weights_version": 7,
        "containers": [cont(1, 1, 1, None, future_key=True, scale={"min": 1, "max": 2, "spot": "yes"})]}},
        "ACTIVE", "healthy", [(1, 1, 1, None)]),
    "cmd-string": ({"status": "ACTIVE", "command": "python -m vllm.entrypoints.openai.api_server"},
                   "ACTIVE", "healthy", [(1, 1, 1, None)]),
    "cmd-array": ({"status": "ACTIVE", "command": ["python", "-m", "vllm", "--port", "8080"]},
                  "ACTIVE", "healthy", [(1, 1, 1, None)]),
    "cmd-null": ({"status": "ACTIVE", "command": None}, "ACTIVE", "healthy", [(1, 1, 1, None)]),
    "cmd-odd": ({"status": "ACTIVE", "raw": {"command": ["a", 1, None, {"x": 1}]}},
                "ACTIVE", "healthy", [(1, 1, 1, None)]),
    "cmd-number": ({"status": "ACTIVE", "raw": {"command": 42}}, "ACTIVE", "healthy", [(1, 1, 1, None)]),
    "all-nulls": ({"status": "ACTIVE", "raw": dict(NULLABLE, containers=[cont(1, 1, 1)])},
                  "ACTIVE", "healthy", [(1, 1, 1, None)]),
    "empty-containers-active": ({"status": "ACTIVE", "raw": {"containers": []}}, "ACTIVE", "healthy", []),
    "empty-containers-deploying": ({"status": "DEPLOYING", "raw": {"containers": []}},
                                   "DEPLOYING", "progressing", []),
    "odd-containers": ({"status": "PARTIALLYDEPLOYED", "raw": {"containers": [
        cont(1, 1, 1), cont(1, 0, 1, "duplicate region"),                     # first one kept
        cont(7, 0, 1, ["not", "a", "string"]), cont(9, 0, 1, "")]}},            # not errors
        "PARTIALLYDEPLOYED", "progressing", [(1, 1, 1, None), (7, 0, 1, None), (9, 0, 1, None)]),
    "error-escapes": ({"status": "PARTIALLYDEPLOYED", "raw": {"containers": [
        cont(1, 1, 1), cont(7, 0, 1, 'pull "img:v2": 403 Forbidden \u2014 r\u00e9essayer \\ /')]}},
        "PARTIALLYDEPLOYED", "degraded",
        [(1, 1, 1, None), (7, 0, 1, 'pull "img:v2": 403 Forbidden \u2014 r\u00e9essayer \\ /')]),
    "error-controls": ({"status": "PARTIALLYDEPLOYED", "raw": {"containers": [
        cont(1, 1, 1), cont(7, 0, 1, "pull failed\n  retrying\tin 5s\x1b[31m\r")]}},
        "PARTIALLYDEPLOYED", "degraded", [(1, 1, 1, None), (7, 0, 1, "pull failed\n  retrying\tin 5s\x1b[31m\r")]),
    "name-mismatch": ({"status": "ACTIVE", "raw": {"name": "someone-else", "project_id": 99}},
                      "ACTIVE", "healthy", [(1, 1, 1, None)]),
    "lowercase-status": ({"status": "active"}, "active", "progressing", [(1, 0, 1, None)]),
}

# name: (fields, error needle)
UNUSABLE = {
    "no-status": ({"unset": ["status"]}, 'response has no "status" string'),
    "no-name": ({"unset": ["name"]}, 'response has no "name" string'),
    "status-null": ({"raw": {"status": None}}, 'response has no "status" string'),
    "status-empty": ({"raw": {"status": ""}}, 'response has no "status" string'),
    "status-number": ({"raw": {"status": 3}}, 'response has no "status" string'),
    "status-object": ({"raw": {"status": {"phase": "ACTIVE"}}}, 'response has no "status" string'),
    "name-array": ({"raw": {"name": ["x"]}}, 'response has no "name" string'),
    # Counts that cannot be trusted: read as 0 they would be a fake transition (SPEC section 1).
    "negative-ready": ({"raw": {"containers": [cont(1, -1, 1)]}}, "ready count is out of range"),
    "negative-total": ({"raw": {"containers": [cont(1, 1, -5)]}}, "total count is out of range"),
    "ready-over-total": ({"raw": {"containers": [cont(1, 5, 1)]}}, "more ready instances than its total"),
    "ready-string": ({"raw": {"containers": [cont(1, "1", 1)]}}, "ready count is not an integer"),
    "ready-huge": ({"raw": {"containers": [cont(1, 4294967296, 4294967296)]}}, "ready count is out of range"),
    "ready-1e300": ({"raw": {"containers": [cont(1, 1e300, 1.0)]}}, "ready count is out of range"),
    "total-fraction": ({"raw": {"containers": [cont(1, 2.0, 2.5)]}}, "total count is not an integer"),
    "null-deploy-status": ({"raw": {"containers": [
        {"region_id": 1, "deploy_status": None, "error_message": None}]}}, '"deploy_status" is not an object'),
    "containers-null": ({"raw": {"containers": None}}, 'response has no "containers" array'),
    "containers-string": ({"raw": {"containers": "none"}}, 'response has no "containers" array'),
    "junk-containers": ({"raw": {"containers": ["junk", None, 7]}}, "a container is not a JSON object"),
    "no-region": ({"raw": {"containers": [{"deploy_status": {"ready": 1, "total": 1}}]}},
                  'a container has no integer "region_id"'),
}


def test_tolerated(t, sim, key):
    for name, (fields, _, _, _) in TOLERATED.items():
        sim.set(1, name, **fields)
    names = list(TOLERATED)
    j, x = ol.both(t, ol.config(sim, key, [ol.named(1, *names)]), "schema drift", 1)
    for name, (_, status, health, conts) in TOLERATED.items():
        row = j.row(name)
        if not t.ok(row is not None, "%s: has a row" % name, j.diag()):
            continue
        t.eq((row["status"], row["health"], row["error"]), (status, health, None),
             "%s: parsed, status %s, health %s" % (name, status, health))
        t.eq(ol.containers(row), conts, "%s: containers as parsed" % name)
    t.eq(sorted(r["deployment"] for r in j.rows()), sorted(names),
         "drift: rows keep the configured names (a body naming another deployment does not rename it)")
    row = ol.table_row(x, "error-escapes", 1)
    t.eq(row and row["error"], 'region 7: pull "img:v2": 403 Forbidden \u2014 r\u00e9essayer \\ /',
         "text: the error message as served, UTF-8 intact")
    row = ol.table_row(x, "error-controls", 1)
    t.eq(row and row["error"], "region 7: pull failed\\n retrying\\tin 5s\\x1b[31m\\r",
         "text: control characters in an error are escaped, the row stays on one line")
    t.eq(len(x.out.rstrip("\n").split("\n")), 2 + len(names), "text: one line per deployment, after two")
    for name in ("empty-containers-active",):
        row = ol.table_row(x, name, 1)
        t.eq(row and row["regions"], ["-"], "text: %s shows \"-\" as its regions" % name)


def test_unusable(t, sim, key):
    for name, (fields, _) in UNUSABLE.items():
        sim.set(1, name, status="ACTIVE", **fields)
    for name, (_, needle) in UNUSABLE.items():
        r = ol.once(t, ol.config(sim, key, [ol.named(1, name, "control")]), name, True, 3)
        ol.check_unpolled(t, r, name, ["HTTP 200 with an unusable body", needle], name)
        c = r.row("control")
        t.eq(c and c["health"], "healthy", "%s: the other deployment is still polled" % name)


def test_list_drift(t, sim, key):
    """Project 2 ("*"): drift inside a list page is parsed item by item."""
    for name, (fields, _, _, _) in TOLERATED.items():
        sim.set(2, name, **fields)
    conf = ol.config(sim, key, [ol.every(2)], "page_size = 7;")
    r = ol.once(t, conf, "drift in list pages", True, 1)
    got = {x["deployment"]: (x["status"], x["health"], ol.containers(x)) for x in r.rows()}
    want = {n: (s, h, c) for n, (_, s, h, c) in TOLERATED.items()}
    # In a list the body's own name is the only name there is.
    want["someone-else"] = want.pop("name-mismatch")
    t.eq(got, want, "drift in list pages: every item parsed as through get-one")

    # One unusable item spoils its page (skipping it would report a live deployment as gone);
    # the pages before it are reported, and a "*" row says why the rest is missing.
    ordered = sorted(TOLERATED)  # the simulator's order: by its own key, not the served name
    bad = ordered[10]  # on the second page of 7
    sim.set(2, bad, unset=["status"])
    r = ol.once(t, conf, "an item without status in page 2", True, 3)
    seen = sorted(x["deployment"] for x in r.rows() if x["deployment"] != "*")
    first = sorted("someone-else" if n == "name-mismatch" else n for n in ordered[:7])
    t.eq(seen, first, "item without status: the first page's deployments are reported")
    ol.check_unpolled(t, r, "*", ['HTTP 200 with an unusable body: response has no "status" string'],
                      "item without status in page 2", project=2)


def test_int64_max(t, sim, key):
    """ready/total at INT64_MAX (out of range) with a second container: a poll failure, no
    undefined behaviour, and no count made up from it."""
    big = 9223372036854775807
    sim.set(1, "int64-max", status="ACTIVE", raw={"containers": [cont(1, big, big), cont(2, 1, 1)]})
    r = ol.run(ol.config(sim, key, [ol.named(1, "int64-max")]))
    t.ok(r.doc is not None and not any(m in r.err for m in ol.CRASH_MARKS), "ready/total at INT64_MAX: no crash",
         r.diag())
    if r.doc is not None:
        ol.check_unpolled(t, r, "int64-max", ["HTTP 200 with an unusable body", "ready count is out of range"],
                          "ready/total at INT64_MAX")


def test_hostile_names(t, sim, key):
    """Names from the list endpoint are not validated like configured ones: control characters
    stay in the JSON as they are and are escaped in the table."""
    evil = "evil\nname\x07"
    sim.set(3, "evil", status="ACTIVE", raw={"name": evil})
    sim.set(3, "spaced", status="DEPLOYING", raw={"name": "\tx"})
    conf = ol.config(sim, key, [ol.every(3)])
    r = ol.once(t, conf, "hostile names", True, 0)
    t.eq(sorted(x["deployment"] for x in r.rows()), sorted([evil, "\tx"]), "hostile names: JSON keeps them exact")
    x = ol.once(t, conf, "hostile names [text]", False, 0)
    t.eq(x.out.split("\n")[2:4],
         ["3          %-30s ACTIVE             healthy      1:1/1                    " % "evil\\nname\\x07",
          "3          %-30s DEPLOYING          progressing  1:0/1                    " % "\\tx"],
         "hostile names: escaped in the table, one line each")


def main(t):
    with iw.Sim({"deployments": [{"project_id": 1, "name": "control", "status": "ACTIVE"}]},
                tokens=(ol.TOKEN,)) as sim:
        key = iw.write_secret("api-key", ol.TOKEN)
        with t.case("tolerated drift"):
            test_tolerated(t, sim, key)
        with t.case("unusable bodies"):
            test_unusable(t, sim, key)
        with t.case("drift in list pages"):
            test_list_drift(t, sim, key)
        with t.case("INT64_MAX ready"):
            test_int64_max(t, sim, key)
        with t.case("hostile names from the list"):
            test_hostile_names(t, sim, key)


if __name__ == "__main__":
    iw.run(main)
