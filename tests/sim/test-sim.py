"""inferwatch-sim against the Gcore schema and its own documentation (docs/simulator.md)."""

import email.utils
import http.client
import json
import os
import socket
import sys
import time
from urllib.parse import quote

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import iw  # noqa: E402

SCHEMA = json.load(open(iw.srcdir("tests", "sim", "schema.json")))
FLEET = 2345
TOKEN = "29841$c767-test-token"

FULL = {
    "project_id": 1, "name": "full", "status": "ACTIVE", "description": "every nested object filled in",
    "command": "nginx -g 'daemon off;'", "envs": {"DEBUG_MODE": "False"}, "api_keys": ["key1"],
    "credentials_name": "dockerhub", "object_references": [{"kind": "AppDeployment", "name": "my-app"}],
    "logging": {"enabled": True, "destination_region_id": 1, "topic_name": "logs",
                "retention_policy": {"period": 45}},
    "probes": {
        "liveness_probe": {"enabled": True, "probe": {
            "exec": None, "tcp_socket": None, "failure_threshold": 3, "initial_delay_seconds": 0,
            "period_seconds": 5, "timeout_seconds": 1, "success_threshold": 1,
            "http_get": {"headers": {"X-A": "b"}, "host": None, "path": "/healthz", "port": 80,
                         "schema": "HTTP"}}},
        "readiness_probe": {"enabled": False, "probe": {
            "exec": {"command": ["ls", "-l"]}, "tcp_socket": {"port": 80}, "http_get": None,
            "failure_threshold": 3, "initial_delay_seconds": 10, "period_seconds": 10,
            "timeout_seconds": 5, "success_threshold": 1}},
        "startup_probe": None},
    "containers": [{"region_id": 1, "scale": {"triggers": {
        "http": {"rate": 1, "window": 60}, "gpu_utilization": {"threshold": 80},
        "sqs": {"activation_queue_length": 5, "aws_endpoint": None, "aws_region": "us-east-1",
                "queue_length": 10, "queue_url": "https://sqs.us-east-1.amazonaws.com/1/q",
                "scale_on_delayed": True, "scale_on_flight": True, "secret_name": "aws"}}}}],
}

SCENARIO = {
    "start_paused": True,
    "projects": [3],
    "deployments": [
        {"project_id": 1, "name": "my-instance", "status": "PARTIALLYDEPLOYED", "containers": [
            {"region_id": 1, "ready": 2, "total": 2},
            {"region_id": 7, "ready": 0, "total": 1, "error_message": "Failed to pull image"}]},
        {"project_id": 1, "name": "other", "status": "PENDING"},
        {"project_id": 1, "name": "a b%c", "status": "DISABLED"},
        FULL,
    ],
    "fleets": [{"project_id": 2, "prefix": "fleet-", "count": FLEET, "status": "ACTIVE",
                "regions": [1, 7, 9], "ready": 2}],
    "timeline": [
        {"at": 5, "project_id": 1, "name": "my-instance",
         "set": {"status": "ACTIVE", "containers": [{"region_id": 7, "ready": 1, "error_message": None}]}},
        {"at": 10, "project_id": 1, "name": "other", "delete": True},
        {"at": 12, "project_id": 1, "name": "newcomer", "create": {"status": "DEPLOYING", "regions": [9]}},
    ],
}


# ---- a JSON Schema subset validator (the keywords schema.json uses) ----

def _type_ok(name, v):
    return {
        "null": v is None, "boolean": isinstance(v, bool), "string": isinstance(v, str),
        "integer": isinstance(v, int) and not isinstance(v, bool),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        "object": isinstance(v, dict), "array": isinstance(v, list),
    }[name]


def validate(v, schema, path="$"):
    """Returns a list of "path: problem" strings; empty when v conforms."""
    if "$ref" in schema:
        return validate(v, SCHEMA["definitions"][schema["$ref"].split("/")[-1]], path)
    if "anyOf" in schema:
        results = [validate(v, s, path) for s in schema["anyOf"]]
        return [] if any(not r for r in results) else ["%s: matches no alternative: %s" % (path, results)]
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_type_ok(t, v) for t in types):
            return ["%s: %r is not %s" % (path, v, "|".join(types))]
    errors = []
    if "enum" in schema and v not in schema["enum"]:
        errors.append("%s: %r not in %s" % (path, v, schema["enum"]))
    if "minimum" in schema and isinstance(v, int) and v < schema["minimum"]:
        errors.append("%s: %r < %r" % (path, v, schema["minimum"]))
    if isinstance(v, str) and len(v) < schema.get("minLength", 0):
        errors.append("%s: too short" % path)
    if schema.get("format") == "uri" and isinstance(v, str) and "://" not in v:
        errors.append("%s: %r is not a URI" % (path, v))
    if isinstance(v, dict):
        for key in schema.get("required", []):
            if key not in v:
                errors.append("%s: missing required %r" % (path, key))
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, sub in v.items():
            if key in props:
                errors += validate(sub, props[key], "%s.%s" % (path, key))
            elif extra is False:
                errors.append("%s: unexpected %r" % (path, key))
            elif isinstance(extra, dict):
                errors += validate(sub, extra, "%s.%s" % (path, key))
    if isinstance(v, list) and "items" in schema:
        for i, item in enumerate(v):
            errors += validate(item, schema["items"], "%s[%d]" % (path, i))
    return errors


def conforms(t, body, definition, name):
    try:
        v = json.loads(body)
    except ValueError as e:
        return t.ok(False, name, "not JSON: %s: %r" % (e, body[:200]))
    errors = validate(v, {"$ref": "#/definitions/" + definition})
    return t.ok(not errors, name, "\n".join(errors[:20]))


class KeepAlive:
    """One persistent connection, for loops of many API requests."""

    def __init__(self, sim):
        self.conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
        self.headers = {"Authorization": "APIKey " + sim.token}

    def get(self, path):
        self.conn.request("GET", path, headers=self.headers)
        r = self.conn.getresponse()
        return r.status, r.read()


def raw_request(sim, path, timeout):
    """A socket with one request sent on it, for faults urllib would hide."""
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=timeout)
    s.sendall(("GET %s HTTP/1.1\r\nHost: sim\r\nAuthorization: APIKey %s\r\n\r\n" % (path, sim.token)).encode())
    return s


GET = "/cloud/v3/inference/1/deployments/my-instance"


# ---- tests ----

def test_schema(t, sim):
    r = sim.get(1, "my-instance")
    t.eq((r.status, r.header("Content-Type")), (200, "application/json"), "get-one: 200 application/json")
    conforms(t, r.body, "InferenceInstanceOutSerializerV3", "get-one body matches the schema")
    d = r.json()
    broken = dict(d, status="RUNNING", timeout="120")
    del broken["probes"]
    t.eq(len(validate(broken, {"$ref": "#/definitions/InferenceInstanceOutSerializerV3"})), 3,
         "the validator notices a bad enum, a wrong type and a missing key")
    t.ok(set(SCHEMA["definitions"]["InferenceInstanceOutSerializerV3"]["required"] + ["api_keys"]) <= set(d),
         "every required key and api_keys present")
    t.eq([(c["region_id"], c["deploy_status"], c["error_message"]) for c in d["containers"]],
         [(1, {"ready": 2, "total": 2}, None), (7, {"ready": 0, "total": 1}, "Failed to pull image")],
         "containers as the scenario says")
    t.ok(d["address"].startswith("https://inference-instance-my-instance-") and d["address"].endswith(".ai.gcore.dev"),
         "default address looks like Gcore's", d["address"])
    t.eq(d["flavor_name"], "inference-16vcpu-232gib-1xh100-80gb", "default flavor")
    r = sim.get(1, "full")
    conforms(t, r.body, "InferenceInstanceOutSerializerV3", "a deployment with every nested object matches")
    full = r.json()
    t.eq((full["probes"]["readiness_probe"]["probe"]["exec"], full["logging"]["retention_policy"]),
         ({"command": ["ls", "-l"]}, {"period": 45}), "nested objects served as given")
    t.eq(full["containers"][0]["scale"]["triggers"]["cpu"], {"threshold": 80},
         "a partial triggers object merges into the defaults")
    for name in ("other", "fleet"):
        r = sim.get(1, "other") if name == "other" else sim.get(2, "fleet-00042")
        conforms(t, r.body, "InferenceInstanceOutSerializerV3", "%s deployment matches the schema" % name)
    r = sim.get(1, "a b%c")
    t.eq((r.status, r.json()["name"]), (200, "a b%c"), "percent-encoded names are decoded")

    for limit in (1, 7, 100):
        r = sim.list(2, limit=limit, offset=FLEET - 3)
        conforms(t, r.body, "DeploymentList", "list page (limit=%d) matches the schema" % limit)
    r = sim.list(1)
    conforms(t, r.body, "DeploymentList", "list of project 1 matches the schema")

    r = sim.get(1, "my-instance", token="")
    t.eq(r.status, 401, "no Authorization: 401")
    conforms(t, r.body, "Error", "401 body is Gcore's error shape")
    t.eq((r.json()["exception_class"], r.json()["message"]),
         ("NotAuthenticated", "Authentication credentials were not provided."), "401 without credentials")
    r = sim.get(1, "my-instance", headers={"Authorization": "Bearer " + TOKEN}, token="")
    t.eq(r.status, 401, "another scheme is no credentials")
    r = sim.get(1, "my-instance", token="wrongtoken")
    t.eq((r.status, r.json()["message"]), (401, "Bad permanent token: wrong"), "wrong token: 401 with its prefix")
    r = sim.get(1, "my-instance", headers={"Authorization": "apikey " + TOKEN}, token="")
    t.eq(r.status, 200, "the scheme word is case-insensitive")
    r = sim.get(1, "nope")
    t.eq((r.status, r.header("Content-Type")), (404, "application/json"), "unknown deployment: 404 JSON")
    conforms(t, r.body, "Error", "404 body is Gcore's error shape")
    t.eq((r.json()["exception_class"], r.json()["message"]),
         ("NotFoundError", "Inference instance nope could not be found"), "404 message")
    r = sim.get(99, "my-instance")
    t.eq(r.status, 404, "unknown project: get-one 404")
    r = sim.list(99)
    t.eq(r.status, 404, "unknown project: list 404")
    conforms(t, r.body, "Error", "list 404 body is Gcore's error shape")
    r = sim.list(3)
    t.eq((r.status, r.json()), (200, {"count": 0, "results": []}), "a declared empty project lists empty")
    r = sim.api("/cloud/v3/inference/1/deployments/my-instance/apikey")
    t.eq(r.status, 404, "sub-resources other than logs are not simulated")
    r = sim.request("POST", "/cloud/v3/inference/1/deployments", headers={"Authorization": "APIKey " + TOKEN})
    t.eq(r.status, 405, "POST is not allowed")


def test_paging(t, sim):
    expected = ["fleet-%05d" % i for i in range(FLEET)]
    ka = KeepAlive(sim)
    for limit in (1, 7, 100, 1000):
        names, offset, pages = [], 0, 0
        while True:
            status, body = ka.get("/cloud/v3/inference/2/deployments?limit=%d&offset=%d" % (limit, offset))
            page = json.loads(body)
            if status != 200 or not page["results"]:
                break
            t_count = page["count"]
            names += [d["name"] for d in page["results"]]
            offset += len(page["results"])
            pages += 1
            if offset >= t_count:
                break
        t.ok(names == expected and pages == -(-FLEET // limit),
             "limit=%d: every deployment exactly once, in name order, in %d pages" % (limit, pages),
             "got %d names, %d unique" % (len(names), len(set(names))))
    page = sim.list(2).json()
    t.eq((page["count"], len(page["results"])), (FLEET, 100), "default limit is 100")
    page = sim.list(2, limit=5000).json()
    t.eq(len(page["results"]), 1000, "limit above 1000 is clamped to 1000")
    t.eq(len(sim.list(2, offset=FLEET + 10).json()["results"]), 0, "offset past the end: empty page")
    t.eq(sim.list(2, limit=0).json(), {"count": FLEET, "results": []}, "limit=0: the count alone")
    for q in ("limit=-1", "limit=abc", "limit=", "limit=1.5", "offset=-3", "offset=x"):
        r = sim.api("/cloud/v3/inference/2/deployments?" + q)
        t.ok(r.status == 400 and not validate(r.json(), {"$ref": "#/definitions/Error"})
             and r.json()["exception_class"] == "ValidationError", "%s: 400 ValidationError" % q,
             "%d %r" % (r.status, r.body[:200]))


def test_faults(t, sim):
    normal = sim.get(1, "my-instance").body

    with t.case("status: count 2 then back to normal"):
        sim.fault("status", status=503, count=2)
        got = [sim.get(1, "my-instance") for _ in range(3)]
        t.eq([r.status for r in got], [503, 503, 200], "status fault: two 503 then 200")
        t.ok(not validate(got[0].json(), {"$ref": "#/definitions/Error"}), "503 carries Gcore's error body")

    with t.case("429 with Retry-After"):
        sim.fault("429", retry_after="3", count=1)
        r = sim.get(1, "my-instance")
        t.eq((r.status, r.header("Retry-After")), (429, "3"), "429 with Retry-After: 3")
        date = email.utils.formatdate(time.time() + 5, usegmt=True)
        sim.fault("429", retry_after=date, count=1)
        r = sim.get(1, "my-instance")
        t.eq((r.status, r.header("Retry-After")), (429, date), "Retry-After as an HTTP date, verbatim")
        sim.fault("status", status=503, retry_after="7", count=1)
        t.eq(sim.get(1, "my-instance").header("Retry-After"), "7", "a status fault may carry Retry-After")

    with t.case("hang: no answer, nobody else blocked, answered when it ends"):
        sim.fault("hang", duration=1.0, name="my-instance")
        s = raw_request(sim, GET, timeout=0.3)
        try:
            s.recv(100)
            t.ok(False, "hang: the client times out")
        except socket.timeout:
            t.ok(True, "hang: the client times out")
        t0 = time.monotonic()
        t.eq(sim.get(1, "other").status, 200, "other requests are served meanwhile")
        t.ok(time.monotonic() - t0 < 0.5, "... promptly")
        s.settimeout(5)
        t.ok(s.recv(100).startswith(b"HTTP/1.1 200"), "the hung request is answered once the fault ends")
        s.close()

    with t.case("hang: until the faults are cleared"):
        sim.fault("hang", count=1)
        s = raw_request(sim, GET, timeout=0.3)
        try:
            s.recv(100)
            t.ok(False, "hang without duration: no answer")
        except socket.timeout:
            t.ok(True, "hang without duration: no answer")
        t.eq(sim.get(1, "my-instance").status, 200, "count 1: the next request is served")
        sim.clear_faults()
        s.settimeout(5)
        t.ok(s.recv(100).startswith(b"HTTP/1.1 200"), "clearing the faults releases the hung request")
        s.close()

    with t.case("reset: the connection is reset, nothing is answered"):
        sim.fault("reset", count=1)
        s = raw_request(sim, GET, timeout=5)
        try:
            data = s.recv(100)
            t.ok(False, "reset: RST", "received %r" % data)
        except ConnectionResetError:
            t.ok(True, "reset: RST")
        s.close()

    with t.case("malformed, truncated, wrongtype"):
        sim.fault("malformed", count=1)
        r = sim.get(1, "my-instance")
        t.eq(r.status, 200, "malformed: 200")
        t.ok(not _parses(r.body), "malformed: not JSON", r.body)
        sim.fault("truncated", count=1)
        r = sim.get(1, "my-instance")
        t.ok(r.status == 200 and len(r.body) == len(normal) // 2 and r.body == normal[:len(r.body)]
             and int(r.header("Content-Length")) == len(r.body),
             "truncated: the first half, with a matching Content-Length", "%d of %d" % (len(r.body), len(normal)))
        t.ok(not _parses(r.body), "truncated: not JSON")
        sim.fault("wrongtype", count=1)
        t.eq((sim.get(1, "my-instance").status, sim.get(1, "my-instance").json()), (200, json.loads(normal)),
             "wrongtype lasts its count")
        sim.fault("wrongtype", count=1)
        t.eq(sim.get(1, "my-instance").json(), [], "wrongtype: [] by default")
        sim.fault("wrongtype", variant="no_status", count=2)
        d = sim.get(1, "my-instance").json()
        t.ok("status" not in d and d["name"] == "my-instance", "wrongtype no_status: an object without status")
        page = sim.list(1).json()
        t.ok(all("status" not in x for x in page["results"]), "wrongtype no_status on a list page")
        sim.fault("wrongtype", variant="wrong_types", count=1)
        d = sim.get(1, "my-instance").json()
        t.ok(not isinstance(d["status"], str) and not isinstance(d["containers"], list), "wrongtype wrong_types")

    with t.case("oversize: no Content-Length, size bytes"):
        sim.fault("oversize", size=3 * 1024 * 1024, count=1)
        r = sim.get(1, "my-instance", timeout=30)
        t.ok(r.status == 200 and r.header("Content-Length") is None and len(r.body) == 3 * 1024 * 1024,
             "oversize: 3 MiB without Content-Length", "%d %r %d" % (r.status, r.header("Content-Length"), len(r.body)))
        t.eq(r.header("Transfer-Encoding"), "chunked", "oversize: chunked")

    with t.case("slow: the right body, dripped"):
        sim.fault("slow", bytes_per_second=2000, count=1)
        t0 = time.monotonic()
        r = sim.get(1, "my-instance", timeout=30)
        elapsed = time.monotonic() - t0
        t.eq((r.status, r.body), (200, normal), "slow: the correct body")
        expected = len(normal) / 2000
        t.ok(expected * 0.5 < elapsed < expected * 4 + 1, "slow: takes about size/rate (%.2fs for %.2fs)"
             % (elapsed, expected))

    with t.case("duration expiry"):
        t0 = time.monotonic()
        sim.fault("status", status=500, duration=0.4)
        t.eq(sim.get(1, "my-instance").status, 500, "duration: failing at first")
        iw.wait_until(lambda: sim.get(1, "my-instance").status == 200, 5, "the fault to expire")
        t.ok(time.monotonic() - t0 >= 0.35, "duration: failing for about its duration")
        t.eq(sim.faults(), [], "an expired fault is gone from the list")

    with t.case("targeting: endpoint, project, deployment"):
        sim.fault("status", status=502, endpoint="list")
        t.eq((sim.get(1, "my-instance").status, sim.list(1).status), (200, 502), "endpoint=list spares get-one")
        sim.clear_faults()
        sim.fault("status", status=502, endpoint="get")
        t.eq((sim.get(1, "my-instance").status, sim.list(1).status), (502, 200), "endpoint=get spares the list")
        sim.clear_faults()
        sim.fault("status", status=502, name="my-instance")
        t.eq((sim.get(1, "my-instance").status, sim.get(1, "other").status, sim.list(1).status),
             (502, 200, 200), "name= hits that deployment's get-one only")
        sim.clear_faults()
        sim.fault("status", status=502, project_id=2)
        t.eq((sim.get(1, "my-instance").status, sim.get(2, "fleet-00001").status, sim.list(2).status),
             (200, 502, 502), "project_id= hits that project only")
        t.eq(sim.clock()["paused"], True, "faults never touch /_sim/")
        listed = sim.faults()
        t.eq([(f["kind"], f["status"], f["project_id"], f["hits"]) for f in listed], [("status", 502, 2, 2)],
             "GET /_sim/faults lists the fault with its hits")
        sim.clear_faults()
        t.eq(sim.faults(), [], "DELETE /_sim/faults clears them")

    with t.case("bad fault specifications are refused"):
        for spec in ({"kind": "nope"}, {"kind": "status", "count": 0}, {"kind": "hang", "endpoint": "x"},
                     {"kind": "status", "status": 1000}, {"kind": "slow", "oops": 1}):
            try:
                sim._control("POST", "/_sim/faults", spec)
                t.ok(False, "refused: %r" % spec)
            except iw.PeerError as e:
                t.eq(e.status, 400, "refused: %r" % spec)


def _parses(body):
    try:
        json.loads(body)
        return True
    except ValueError:
        return False


def test_counters(t, sim):
    sim.reset_counters()
    for _ in range(3):
        sim.get(1, "my-instance")
    sim.get(1, "nope")
    sim.get(1, "my-instance", token="")
    sim.list(2, limit=10)
    sim.list(2, limit=10, offset=10)
    sim.list(2, limit=-1)
    sim.fault("status", status=503, count=1)
    sim.get(1, "other")
    sim.fault("reset", count=1)
    try:
        sim.get(1, "other")
    except (ConnectionError, http.client.HTTPException):
        pass
    sim.api("/cloud/v3/inference/1/deployments/x/apikey")
    sim.clock()
    sim.deployments()
    t.eq(sim.counters(), {
        "total": 11,
        "by_endpoint": {"get": 7, "list": 3, "other": 1, "regions": 0, "logs": 0, "capacity": 0},
        "by_deployment": {"1/my-instance": 4, "1/nope": 1, "1/other": 2},
        "by_status": {"200": 5, "404": 2, "401": 1, "400": 1, "503": 1, "none": 1},
        "by_project_list": {"2": 3},
        "by_logs": {},
    }, "counters are exact, by endpoint, deployment, status and project; /_sim/ is not counted")
    sim.reset_counters()
    t.eq(sim.counters()["total"], 0, "counters reset")


def test_context(t, sim):
    """The regions, logs and capacity endpoints, and faults aimed at them."""
    sim.set_context(regions=[{"id": 7, "display_name": "Luxembourg-2"},
                             {"id": 1, "display_name": "Paris 1", "state": "MAINTENANCE"}],
                    capacity=[{"region_id": 7, "capacity": [{"flavor_name": "1xA100", "capacity": 0}]}])
    sim.reset_counters()
    r = sim.api("/cloud/v1/regions?product=inference")
    regions = r.json()
    t.eq((r.status, regions["count"], [x["id"] for x in regions["results"]]), (200, 2, [7, 1]), "regions: the page")
    t.eq({k: regions["results"][1][k] for k in ("display_name", "slug", "state", "has_ai")},
         {"display_name": "Paris 1", "slug": "paris-1", "state": "MAINTENANCE", "has_ai": True},
         "regions: documented keys, defaults filled in")
    t.eq(sim.api("/cloud/v1/regions/7").json()["display_name"], "Luxembourg-2", "regions/{id}: one region")
    t.eq(sim.api("/cloud/v1/regions/99").status, 404, "regions/{id}: unknown is a 404")
    t.eq(sim.api("/cloud/v3/inference/capacity").json(),
         {"count": 1, "results": [{"region_id": 7, "capacity": [{"flavor_name": "1xA100", "capacity": 0}]}]},
         "capacity: as set")

    base = "/cloud/v3/inference/1/deployments/my-instance/logs"
    logs = sim.api(base + "?region_id=7&limit=10").json()
    msgs = [x["message"] for x in logs["results"]]
    t.eq(msgs, ["Back-off: Failed to pull image", "Failed to pull image", 'Pulling image "%s"' %
                sim.get(1, "my-instance").json()["image"]], "logs: region 7's error, newest first")
    t.ok(all(x["region_id"] == 7 and "-r7-" in x["pod"] and x["time"].endswith("Z") for x in logs["results"]),
         "logs: {message, pod, region_id, time}", logs["results"])
    sim.add_logs(1, "my-instance", 7, ["custom \u001b[31m line", {"hex": "ff41", "repeat": 2}])
    r = sim.api(base + "?region_id=7&limit=2&order_by=time.desc")
    t.ok(r.body.count(b"\xffA") == 2 and b"\\u001b" in r.body, "logs: added lines, raw bytes kept", r.body[:300])
    asc = json.loads(sim.api(base + "?region_id=7&order_by=time.asc").body.decode("utf-8", "replace"))["results"]
    t.eq(asc[0]["message"][:8], "Pulling ", "logs: time.asc oldest first")
    t.eq(sim.api(base + "?region_id=1").json()["results"][-1]["message"], 'Pulling image "%s"' %
         sim.get(1, "my-instance").json()["image"], "logs: a healthy region serves")
    t.eq(sim.api(base + "?order_by=sideways").status, 400, "logs: bad order_by is a 400")
    t.eq(sim.api("/cloud/v3/inference/1/deployments/nope/logs?region_id=7").status, 404, "logs: unknown deployment")
    fid = sim.fault("status", status=500, endpoint="logs", count=1)
    t.eq(sim.api(base + "?region_id=7").status, 500, "a fault aimed at logs hits logs")
    t.eq(sim.get(1, "my-instance").status, 200, "and not get-one")
    sim.fault("malformed", endpoint="regions", count=1)
    t.ok(sim.api("/cloud/v1/regions").status == 200 and _parses(sim.api("/cloud/v1/regions").body),
         "a malformed fault on regions hits once")
    c = sim.counters()
    t.eq((c["by_endpoint"]["regions"], c["by_endpoint"]["capacity"], c["by_logs"].get("1/my-instance/7")),
         (5, 1, 4), "counters: regions, capacity, and logs by deployment and region", json.dumps(c))
    sim.clear_faults()
    del fid


def test_timeline(t, sim):
    t.eq(sim.clock(), {"t": 0, "paused": True}, "start_paused: the clock starts paused at 0")
    t.eq(sim.get(1, "my-instance").json()["status"], "PARTIALLYDEPLOYED", "initial state")
    t.eq(sim.changes(), [], "populating the initial state is not a change")
    sim.advance(4.9)
    t.eq(sim.get(1, "my-instance").json()["status"], "PARTIALLYDEPLOYED", "nothing due at 4.9 s")
    before = time.time()
    sim.advance(0.2)
    d = sim.get(1, "my-instance").json()
    t.eq((d["status"], [(c["region_id"], c["deploy_status"]["ready"], c["error_message"]) for c in d["containers"]]),
         ("ACTIVE", [(1, 2, None), (7, 1, None)]), "the event at 5 s fired when the clock passed it")
    ch = sim.changes()
    t.eq([(c["project_id"], c["name"], c["status"], c["action"]) for c in ch],
         [(1, "my-instance", "ACTIVE", "set")], "the changes log records it")
    t.ok(abs(ch[0]["t"] - 5.1) < 0.01 and before * 1e6 - 1e6 <= ch[0]["realtime_us"] <= time.time() * 1e6 + 1e6,
         "with scenario time and real time", ch)
    try:
        sim._control("POST", "/_sim/clock", {"resum": True})
        t.ok(False, "a typo in a clock request is refused")
    except iw.PeerError as e:
        t.eq(e.status, 400, "a typo in a clock request is refused")
    sim.resume()
    iw.wait_until(lambda: sim.clock()["t"] > 5.15, 5, "the clock to run")
    sim.pause()
    t1 = sim.clock()["t"]
    t.eq(sim.clock()["t"], t1, "paused: the clock stands still")
    sim.advance(12 - t1)
    t.eq((sim.get(1, "other").status, sim.get(1, "newcomer").json()["status"]), (404, "DEPLOYING"),
         "delete and create fire")
    t.eq([(c["name"], c["action"], c["status"]) for c in sim.changes(since=1)],
         [("other", "delete", "PENDING"), ("newcomer", "create", "DEPLOYING")], "changes since=1")


def test_control(t, sim):
    d = sim.create(1, "ctl", status="DEPLOYING", regions=[1, 7])
    t.eq([(c["region_id"], c["deploy_status"]) for c in d["containers"]],
         [(1, {"ready": 0, "total": 1}), (7, {"ready": 0, "total": 1})], "create: defaults per region")
    d = sim.set(1, "ctl", image="nginx:1.27")
    t.eq((d["image"], d["status"], len(d["containers"])), ("nginx:1.27", "DEPLOYING", 2), "set merges one field")
    d = sim.set(1, "ctl", containers=[{"region_id": 7, "ready": 1, "error_message": "No capacity"},
                                      {"region_id": 9, "total": 2}])
    t.eq([(c["region_id"], c["deploy_status"], c["error_message"]) for c in d["containers"]],
         [(1, {"ready": 0, "total": 1}, None), (7, {"ready": 1, "total": 1}, "No capacity"),
          (9, {"ready": 0, "total": 2}, None)], "containers merge by region_id; a new region is added")
    d = sim.set(1, "ctl", containers=[{"region_id": 1, "remove": True}], status="ACTIVE", ready=1)
    t.eq([(c["region_id"], c["deploy_status"]["ready"]) for c in d["containers"]], [(7, 1), (9, 1)],
         "remove drops a region; top-level ready applies to every container")
    d = sim.set(1, "ctl", raw={"brand_new_key": {"x": 1}}, unset=["description"], _why="a comment")
    t.ok(d["brand_new_key"] == {"x": 1} and "description" not in d and "_why" not in d,
         "raw adds keys, unset removes them, _comments are ignored")
    t.eq(sim.get(1, "ctl").json()["brand_new_key"], {"x": 1}, "... and the API serves them")
    d = sim.create(1, "ctl", status="PENDING")
    t.eq((d["status"], "brand_new_key" in d, [c["deploy_status"] for c in d["containers"]]),
         ("PENDING", False, [{"ready": 0, "total": 0}]), "create replaces; PENDING is scaled to zero")
    d = sim.set(1, "fresh", status="ACTIVE")
    t.eq((d["name"], d["containers"][0]["deploy_status"]), ("fresh", {"ready": 1, "total": 1}),
         "set creates a missing deployment")
    for bad in ({"status": 5}, {"nonsense": 1}, {"containers": [{"ready": 1}]}, {"name": "other-name"},
                {"regions": [1]}):
        try:
            sim._control("PUT", "/_sim/deployments/1/ctl", bad)
            t.ok(False, "refused: %r" % bad)
        except iw.PeerError as e:
            t.eq(e.status, 400, "refused: %r" % bad)
    sim.delete(1, "fresh")
    t.eq(sim.get(1, "fresh").status, 404, "deleted: the API says 404")
    t.eq([x["action"] for x in sim.changes() if x["name"] in ("ctl", "fresh")][-3:], ["create", "create", "delete"],
         "control changes are logged")
    names = [(d["project_id"], d["name"]) for d in sim.deployments()]
    t.ok(names == sorted(names) and len(names) == FLEET + 5, "GET /_sim/deployments: all, ordered", len(names))
    sim.set_tokens(["rotated"])
    t.eq((sim.get(1, "ctl").status, sim.get(1, "ctl", token="rotated").status), (401, 200), "tokens can be rotated")
    sim.set_tokens([TOKEN])


def test_random_and_restart(t):
    scenario = {"start_paused": True,
                "fleets": [{"project_id": 5, "prefix": "r-", "count": 50}],
                "random_changes": {"project_id": 5, "prefix": "r-", "rate": 20,
                                   "statuses": ["ACTIVE", "PARTIALLYDEPLOYED", "DEPLOYING"]}}
    runs = []
    for seed in (7, 7, 8):
        with iw.Sim(scenario, tokens=[TOKEN], seed=seed) as sim:
            sim.advance(1.0)
            runs.append([(c["name"], c["status"]) for c in sim.changes()])
    t.eq(len(runs[0]), 20, "random changes: rate x time")
    t.ok(runs[0] == runs[1] and runs[0] != runs[2], "deterministic given the seed, different for another")
    with iw.Sim({"timeline": [{"at": 0.3, "project_id": 1, "name": "late", "create": {}}]},
                tokens=[TOKEN]) as sim:
        iw.wait_until(lambda: sim.get(1, "late").status == 200, 5, "the real-time clock to fire the event")
        t.ok(True, "an unpaused timeline fires on its own")
        port = sim.port
        sim.set(1, "extra")
        sim.restart()
        t.eq((sim.port, sim.get(1, "extra").status), (port, 404), "restart: same port, initial state again")
        sim.fault("hang")
        s = raw_request(sim, "/cloud/v3/inference/1/deployments/late", timeout=5)
        iw.wait_until(lambda: sim.counters()["total"] >= 1, 5, "the hung request to arrive")
        t0 = time.monotonic()
        t.eq(sim.stop(), 0, "SIGTERM with a hung request: exit 0")
        t.ok(time.monotonic() - t0 < 3, "... promptly")
        s.close()


def test_bad_scenarios(t):
    for scenario, what in (({"deployments": [{"project_id": 1}]}, "a deployment without a name"),
                           ({"timeline": [{"at": 1, "project_id": 1, "name": "x"}]}, "an event without action"),
                           ({"timeline": [{"at": 1, "project_id": 1, "name": "x", "set": {"status": 1}}]},
                            "an event with a bad field"),
                           ({"random_changes": {"project_id": 1, "rate": 1, "prefx": "a"}},
                            "a typo in random_changes"),
                           ({"surprise": 1}, "an unknown key")):
        try:
            iw.Sim(scenario).stop()
            t.ok(False, "refused: " + what)
        except RuntimeError as e:
            t.ok("inferwatch-sim" in str(e), "refused: " + what, str(e))


def main(t):
    with iw.Sim(SCENARIO, tokens=[TOKEN, "second-token"]) as sim:
        for test in (test_schema, test_paging, test_faults, test_counters, test_context, test_timeline,
                     test_control):
            with t.case(test.__name__):
                test(t, sim)
        t.eq(sim.stop(), 0, "SIGTERM: exit 0")
    for test in (test_random_and_restart, test_bad_scenarios):
        with t.case(test.__name__):
            test(t)


iw.run(main)
