"""Real peers of the Prometheus ecosystem on 127.0.0.1 (Debian's prometheus-alertmanager and
prometheus): an Alertmanager routing every alert to one webhook receiver with send_resolved,
grouped by alertname and deployment; a Prometheus server scraping one target."""

import json
import os
import re
import socket
import sys
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hooklib import iw  # noqa: E402

ALERTMANAGER = os.environ.get("IW_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")
PROMETHEUS = os.environ.get("IW_PROMETHEUS", "/usr/bin/prometheus")
GROUP_WAIT, GROUP_INTERVAL = 1, 2


def free_port():
    # Neither can be given port 0 and tell which it got: take one the kernel picked, give it back.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """A server started with args(port) in self.dir, ready when GET /-/ready answers 200."""

    def _launch(self, args, what):
        for _ in range(5):
            self.port = free_port()
            self.proc = iw._spawn(args(self.port), os.path.join(self.dir, "stdout"), os.path.join(self.dir, "stderr"))
            try:
                iw.wait_until(lambda: self.proc.poll() is not None or self._ready(), 30, what + " to be ready")
            except TimeoutError:
                raise RuntimeError(what + " did not start: " + self.log()) from None
            if self.proc.poll() is None:
                return
        raise RuntimeError(what + " failed to start 5 times: " + self.log())

    def _ready(self):
        try:
            return iw.http_request(self.port, "GET", "/-/ready", timeout=1).status == 200
        except OSError:
            return False

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def log(self):
        return iw._read(os.path.join(self.dir, "stderr"))[-3000:]

    def stop(self):
        iw._terminate(self.proc)


class Alertmanager(_Server):
    def __init__(self, receiver_url, resolve_timeout=None):
        self.dir = iw.tmpdir("alertmanager-")
        config = os.path.join(self.dir, "alertmanager.yml")
        with open(config, "w") as f:
            # YAML is a superset of JSON.
            json.dump({
                "global": {"resolve_timeout": resolve_timeout or "5m"},
                "route": {"receiver": "sink", "group_by": ["alertname", "deployment"], "group_wait": "%ds" % GROUP_WAIT,
                          "group_interval": "%ds" % GROUP_INTERVAL, "repeat_interval": "1h"},
                "receivers": [{"name": "sink", "webhook_configs": [{"url": receiver_url, "send_resolved": True}]}],
            }, f)
        self._launch(lambda port: [ALERTMANAGER, "--config.file=" + config, "--storage.path=" + self.dir,
                                   "--web.listen-address=127.0.0.1:%d" % port, "--cluster.listen-address="],
                     "Alertmanager")

    def alerts(self):
        return json.loads(iw.http_request(self.port, "GET", "/api/v2/alerts").body)


class Prometheus(_Server):
    """Scrapes 127.0.0.1:target_port every second as job "inferwatch", with the shipped rules,
    every "for:" set to 0s (a copy): tests wait for scrapes, not minutes."""

    def __init__(self, target_port):
        self.dir = iw.tmpdir("prometheus-")
        rules = os.path.join(self.dir, "rules.yml")
        with open(iw.srcdir("prometheus", "inferwatch-rules.yml")) as f:
            text = re.sub(r"(?m)^(\s*)for: .*$", r"\1for: 0s", f.read())
        with open(rules, "w") as f:
            f.write(text)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            json.dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
                       "rule_files": [rules],
                       "scrape_configs": [{"job_name": "inferwatch",
                                           "static_configs": [{"targets": ["127.0.0.1:%d" % target_port]}]}]}, f)
        self._launch(lambda port: [PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + self.dir + "/data",
                                   "--web.listen-address=127.0.0.1:%d" % port], "Prometheus")

    def query(self, promql):
        """[(labels, float value)] of an instant query."""
        r = iw.http_request(self.port, "GET", "/api/v1/query?query=" + quote(promql)).json()
        if r.get("status") != "success":
            raise RuntimeError("query %s: %s" % (promql, r))
        return [(x["metric"], float(x["value"][1])) for x in r["data"]["result"]]

    def value(self, promql):
        """The single value of a query, or None when it has no result."""
        res = self.query(promql)
        return res[0][1] if len(res) == 1 else None

    def wait_value(self, promql, expected, timeout=20):
        iw.wait_until(lambda: self.value(promql) == expected, timeout, "%s == %s" % (promql, expected))
        return expected
