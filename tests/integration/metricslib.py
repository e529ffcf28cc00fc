"""Shared pieces of the /metrics tests: inferwatchd started with a listening socket passed as
systemd's socket activation does, scraping, a parser of the text exposition format, promtool."""

import os
import re
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hooklib as h  # noqa: E402
from hooklib import iw  # noqa: E402

PROMTOOL = os.environ.get("IW_PROMTOOL", shutil.which("promtool") or "/usr/bin/promtool")
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def start(conf_text, extra_args=()):
    """inferwatchd as hooklib.start() runs it, given a listening socket on 127.0.0.1 (port 0)
    through LISTEN_FDS/LISTEN_PID, as systemd passes inferwatch-metrics.socket. Returns
    (daemon, port)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    port, fd = s.getsockname()[1], s.fileno()
    # LISTEN_PID must be the daemon's own pid: a shell sets it, moves the socket to fd 3, execs.
    move = "" if fd == 3 else " 3<&%d %d<&-" % (fd, fd)
    wrapper = ("sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=metrics exec "$@"' + move, "sh")
    d = iw.Daemon(conf_text, ["--log-target=stderr", "--log-format=json"] + list(extra_args), wrapper=wrapper,
                  pass_fds=(fd,))
    s.close()
    return d, port


def scrape(port, path="/metrics"):
    return iw.http_request(port, "GET", path)


def parse(text):
    """{(name, ((label, value), ...sorted)): float} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("not a sample line: %r" % line)
        labels = tuple(sorted((k, re.sub(r'\\[\\"n]', lambda x: _UNESCAPE[x.group(0)], v))
                              for k, v in _LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    """The value of the one sample of name with exactly these labels, or None."""
    return samples.get((name, tuple(sorted((k, str(v)) for k, v in labels.items()))))


def family(samples, name):
    """{labels dict as a tuple: value} of every sample of name."""
    return {k[1]: v for k, v in samples.items() if k[0] == name}


def promtool_check(text):
    """(exit status, output) of promtool check metrics on text."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def deployment(name, project=1, account="default"):
    return dict(account=account, project=project, deployment=name)
