"""A real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1, routing every alert to
one webhook receiver with send_resolved, grouped by alertname and deployment."""

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hooklib import iw  # noqa: E402

ALERTMANAGER = os.environ.get("IW_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")
GROUP_WAIT, GROUP_INTERVAL = 1, 2


def free_port():
    # Alertmanager cannot be given port 0: take one the kernel picked and give it back.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Alertmanager:
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
        for attempt in range(5):
            self.port = free_port()
            self.proc = iw._spawn([ALERTMANAGER, "--config.file=" + config, "--storage.path=" + self.dir,
                                   "--web.listen-address=127.0.0.1:%d" % self.port, "--cluster.listen-address="],
                                  os.path.join(self.dir, "stdout"), os.path.join(self.dir, "stderr"))
            try:
                iw.wait_until(lambda: self.proc.poll() is not None or self._ready(), 20, "Alertmanager to listen")
            except TimeoutError:
                raise RuntimeError("Alertmanager did not start: " + self.log()) from None
            if self.proc.poll() is None:
                return
        raise RuntimeError("Alertmanager failed to start 5 times: " + self.log())

    def _ready(self):
        try:
            return iw.http_request(self.port, "GET", "/-/ready", timeout=1).status == 200
        except OSError:
            return False

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def alerts(self):
        return json.loads(iw.http_request(self.port, "GET", "/api/v2/alerts").body)

    def log(self):
        return iw._read(os.path.join(self.dir, "stderr"))[-3000:]

    def stop(self):
        iw._terminate(self.proc)
