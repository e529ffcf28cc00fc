"""inferwatch-sink: recording, Standard Webhooks verification, behaviours."""

import base64
import hashlib
import hmac
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import iw  # noqa: E402

KEY = b"\x00\x01inferwatch-test-key\xfe\xff"
SECRET = "whsec_" + base64.b64encode(KEY).decode()


def signed_headers(key, body, msg_id="msg_2Kv1", timestamp=None, extra_signatures=()):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(key, ("%s.%s." % (msg_id, timestamp)).encode() + body, hashlib.sha256).digest()
    sigs = list(extra_signatures) + ["v1," + base64.b64encode(mac).decode()]
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": " ".join(sigs),
            "Content-Type": "application/json"}


def deliver(sink, body=b'{"type":"alert.firing"}', headers=None, path="/hook", timeout=10):
    return sink.request("POST", path, body, headers or {}, timeout)


def raw_post(sink, body=b"{}", timeout=5):
    s = socket.create_connection(("127.0.0.1", sink.port), timeout=timeout)
    s.sendall(b"POST /hook HTTP/1.1\r\nHost: sink\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
              % (len(body), body))
    return s


def test_signatures(t, sink):
    body = b'{"id":"e1","type":"deployment.status_changed"}'
    cases = [
        ("a correct signature", body, signed_headers(KEY, body), "valid", True),
        ("one good among several", body, signed_headers(KEY, body, extra_signatures=["v1,Zm9v", "v2,bar"]),
         "valid", True),
        ("a tampered body", body + b" ", signed_headers(KEY, body), "invalid", True),
        ("another id", body, dict(signed_headers(KEY, body), **{"webhook-id": "msg_other"}), "invalid", True),
        ("the wrong key", body, signed_headers(b"other key", body), "invalid", True),
        ("no signature headers", body, {"Content-Type": "application/json"}, "missing", None),
        ("an old timestamp", body, signed_headers(KEY, body, timestamp=int(time.time()) - 600), "valid", False),
        ("a future timestamp", body, signed_headers(KEY, body, timestamp=int(time.time()) + 600), "valid", False),
    ]
    start = len(sink.deliveries())
    for what, b, h, _, _ in cases:
        t.eq(deliver(sink, b, h).status, 200, "delivered: " + what)
    got = sink.deliveries(since=start)
    for (what, _, _, verdict, fresh), d in zip(cases, got):
        t.eq((d["signature"], d["timestamp_fresh"]), (verdict, fresh), "%s: %s" % (what, verdict))
    d = got[0]
    t.ok(d["method"] == "POST" and d["path"] == "/hook" and d["body"] == body.decode()
         and d["headers"]["webhook-id"] == "msg_2Kv1" and d["headers"]["content-type"] == "application/json"
         and d["status"] == 200 and abs(d["time_us"] / 1e6 - time.time()) < 60,
         "a delivery records time, method, path, headers (lower-case) and body", d)


def test_behaviours(t, sink):
    with t.case("status for a count, with Retry-After and a body"):
        sink.behave(status=503, count=2, retry_after="3", body='{"error":"busy"}')
        got = [deliver(sink) for _ in range(3)]
        t.eq([(r.status, r.header("Retry-After")) for r in got], [(503, "3"), (503, "3"), (200, None)],
             "503 twice with Retry-After, then 200")
        t.eq(got[0].body, b'{"error":"busy"}', "the given body")
        t.eq([d["status"] for d in sink.deliveries()[-3:]], [503, 503, 200], "the answer is recorded")
        t.eq(sink.request("GET", "/_sink/deliveries").status, 200, "control is never affected")

    with t.case("status for a duration"):
        t0 = time.monotonic()
        sink.behave(status=500, duration=0.4)
        t.eq(deliver(sink).status, 500, "failing at first")
        iw.wait_until(lambda: deliver(sink).status == 200, 5, "the behaviour to end")
        t.ok(time.monotonic() - t0 >= 0.35, "for about its duration")

    with t.case("delay"):
        sink.behave(delay=0.5, count=1)
        t0 = time.monotonic()
        r = deliver(sink)
        elapsed = time.monotonic() - t0
        t.ok(r.status == 200 and 0.45 <= elapsed < 3, "answered after the delay (%.2fs)" % elapsed)
        t0 = time.monotonic()
        deliver(sink)
        t.ok(time.monotonic() - t0 < 0.4, "only for its count")

    with t.case("hang until normal()"):
        sink.behave(hang=True)
        s = raw_post(sink, timeout=0.3)
        try:
            s.recv(100)
            t.ok(False, "a hung delivery gets no answer")
        except socket.timeout:
            t.ok(True, "a hung delivery gets no answer")
        t.eq(sink.request("GET", "/_sink/deliveries").status, 200, "control still answers")
        sink.normal()
        s.settimeout(5)
        t.ok(s.recv(100).startswith(b"HTTP/1.1 200"), "normal() releases it")
        s.close()
        t.eq(deliver(sink).status, 200, "and deliveries are answered again")

    with t.case("hang for a duration"):
        sink.behave(hang=True, duration=0.5)
        s = raw_post(sink, timeout=5)
        t0 = time.monotonic()
        t.ok(s.recv(100).startswith(b"HTTP/1.1 200") and time.monotonic() - t0 > 0.3,
             "answered when the duration ends")
        s.close()

    with t.case("bad behaviours are refused"):
        for spec in ({"status": 99}, {"count": 0}, {"delay": -1}, {"hang": "yes"}, {"stauts": 503}):
            try:
                sink.behave(**spec)
                t.ok(False, "refused: %r" % spec)
            except iw.PeerError as e:
                t.eq(e.status, 400, "refused: %r" % spec)


def test_record(t, sink):
    n = len(sink.deliveries())
    before = len(sink.records())
    sink.request("GET", "/_sink/deliveries")
    sink.normal()
    t.eq(len(sink.deliveries()), n, "control requests are not deliveries")
    deliver(sink, b'{"x":1}', path="/other?q=1")
    records = sink.records()
    t.eq(len(records), before + 1, "one JSON line per delivery in the record file")
    t.eq((records[-1]["path"], records[-1]["body"]), ("/other", '{"x":1}'), "the line is the delivery")
    t.eq([r["index"] for r in sink.deliveries(since=n)], [n], "since=N returns from index N")
    sink.reset()
    t.eq(sink.deliveries(), [], "reset empties the memory")
    t.eq(len(sink.records()), before + 1, "... not the record file")


def test_restart(t, sink):
    port = sink.port
    t.eq(sink.stop(), 0, "SIGTERM: exit 0")
    try:
        deliver(sink, timeout=2)
        t.ok(False, "stopped: connections are refused")
    except ConnectionRefusedError:
        t.ok(True, "stopped: connections are refused")
    sink.start_again()
    t.eq((sink.port, deliver(sink).status), (port, 200), "start_again: same port, answering")
    t.eq(len(sink.deliveries()), 1, "memory starts over")
    sink.behave(hang=True)
    s = raw_post(sink)
    iw.wait_until(lambda: len(sink.deliveries()) == 2, 5, "the hung delivery to arrive")
    t0 = time.monotonic()
    t.eq(sink.stop(), 0, "SIGTERM with a hung delivery: exit 0")
    t.ok(time.monotonic() - t0 < 3, "... promptly")
    s.close()


def main(t):
    with iw.Sink(secret=SECRET) as sink:
        for test in (test_signatures, test_behaviours, test_record, test_restart):
            with t.case(test.__name__):
                test(t, sink)
    with t.case("a raw secret"), iw.Sink(secret="plain secret") as sink:
        body = b"{}"
        deliver(sink, body, signed_headers(b"plain secret", body))
        t.eq(sink.deliveries()[0]["signature"], "valid", "a secret without whsec_ is the key itself")
    with t.case("no secret"), iw.Sink() as sink:
        deliver(sink, b"{}", signed_headers(KEY, b"{}"))
        t.eq(sink.deliveries()[0]["signature"], "unchecked", "without a secret: unchecked")
    try:
        iw.Sink(secret="whsec_not*base64").stop()
        t.ok(False, "a whsec_ secret that is not base64 is refused")
    except RuntimeError as e:
        t.ok("not a usable secret" in str(e), "a whsec_ secret that is not base64 is refused", str(e))


iw.run(main)
