"""HTTP/2 servers for tests and benchmarks, serving static files over TLS (ALPN h2) from a
document root, on 127.0.0.1 with a kernel-chosen port: H2Server, a real one, nghttpd (Debian
package nghttp2-server); GoawayServer, h2-goaway-server.py (python3-h2), which ends every
connection with a GOAWAY after a few requests.

The API is mirrored as files: ``publish(path, body)`` writes the answer to GET ``path`` (the
query string is ignored by nghttpd), atomically (a temporary file renamed over the old one).
nghttpd keeps the files it serves open and checks them again at most every 10 seconds, so a
rewritten answer is served within about 10 s: wait for it on a condition, never a sleep.

With ``verbose`` (the default) nghttpd logs every frame to its stdout (``-v``), which
``stats()`` reads: the negotiated protocol of each connection, each request's stream
and path. The log holds every request header as received, the API key included: never print
it; ``stats()`` gives the counts without the headers.
"""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys

import iw

NGHTTPD = "nghttpd"


def unavailable():
    """Why an nghttpd cannot run here (a reason for a skip), or None."""
    if not shutil.which(NGHTTPD) and not os.path.exists("/usr/sbin/" + NGHTTPD):
        return "nghttpd is not installed (Debian package nghttp2-server)"
    if not shutil.which("openssl"):
        return "the openssl command is not installed"
    return None


def tcp_sockets(pid, state):
    """(local port, remote port) of each IPv4 TCP socket of a process in a state ("0A" listening,
    "01" established), from its descriptors' inodes and /proc/net/tcp."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            with contextlib.suppress(OSError):
                m = re.match(r"socket:\[(\d+)\]$", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                if m:
                    inodes.add(m.group(1))
    except OSError:
        return []
    found = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            x = line.split()  # sl local_address rem_address st ... inode (10th)
            if x[3] == state and x[9] in inodes:
                found.append((int(x[1].split(":")[1], 16), int(x[2].split(":")[1], 16)))
    return found


class _StaticServer:
    """A document root served over TLS with a certificate of a CA made at run time
    (iw.make_test_ca): .ca_file, .url (https://127.0.0.1:PORT), .docroot."""

    def __init__(self, name):
        self.dir = iw.tmpdir(name + "-")
        self.docroot = os.path.join(self.dir, "htdocs")
        os.makedirs(self.docroot)
        self.ca_file, self.cert, self.key = iw.make_test_ca()
        self.port = None

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def publish(self, path, body):
        """Serves body (bytes or str) at path from now on (within nghttpd's ~10 s revalidation
        for a file it already served)."""
        target = os.path.join(self.docroot, path.split("?")[0].lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = target + ".new"
        with open(tmp, "wb") as f:
            f.write(body.encode() if isinstance(body, str) else body)
        os.replace(tmp, target)

    def mirror(self, sim, paths):
        """Publishes what the simulator answers to each API path now (the same JSON)."""
        for path in paths:
            r = sim.api(path)
            if r.status != 200:
                raise RuntimeError("the simulator answered %d to %s" % (r.status, path))
            self.publish(path, r.body)

    def stop(self):
        return iw._terminate(self.proc)


def _python_with_h2():
    """A Python interpreter that has the h2 module (Debian's python3-h2), or None."""
    for exe in dict.fromkeys((sys.executable, "/usr/bin/python3")):
        if exe and os.path.exists(exe) and subprocess.run([exe, "-c", "import h2.connection"],
                                                          stdout=subprocess.DEVNULL,
                                                          stderr=subprocess.DEVNULL).returncode == 0:
            return exe
    return None


def goaway_unavailable():
    """Why a GoawayServer cannot run here (a reason for a skip), or None."""
    if not _python_with_h2():
        return "no Python with the h2 module (Debian package python3-h2)"
    if not shutil.which("openssl"):
        return "the openssl command is not installed"
    return None


class GoawayServer(_StaticServer):
    """tests/harness/h2-goaway-server.py: HTTP/2 over TLS that ends each connection after `limit`
    requests with a GOAWAY, leaving a request sent meanwhile unanswered (as nginx does after
    keepalive_requests). events() is its log: dicts with "conn", "event", "stream", "path"."""

    def __init__(self, limit, hold=3.0):
        super().__init__("h2-goaway")
        port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "events")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "h2-goaway-server.py")
        self.proc = iw._spawn([_python_with_h2(), script, self.docroot, self.cert, self.key, str(limit), str(hold),
                               port_file, self.log_path], None, os.path.join(self.dir, "stderr"))
        iw.wait_until(lambda: os.path.exists(port_file) or self.proc.poll() is not None, iw.START_TIMEOUT,
                      "the GOAWAY server to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("h2-goaway-server.py exited: " + iw._read(os.path.join(self.dir, "stderr")))
        self.port = int(iw._read(port_file))

    def events(self, kind=None):
        return [e for e in (json.loads(line) for line in iw._read(self.log_path).splitlines())
                if kind is None or e["event"] == kind]


class H2Server(_StaticServer):
    """nghttpd over TLS. Stopped by stop() or at the test's end."""

    def __init__(self, verbose=True, workers=1, max_streams=None):
        super().__init__("nghttpd")
        self.args = [shutil.which(NGHTTPD) or "/usr/sbin/" + NGHTTPD, "-a", "127.0.0.1", "-d", self.docroot,
                     "-n", str(workers)]
        self.args += ["-v"] if verbose else []
        # SETTINGS_MAX_CONCURRENT_STREAMS (nghttpd's default: 100)
        self.args += ["-m", str(max_streams)] if max_streams else []
        self.runs = 0
        # Port 0: the kernel picks a free one (no clash, no retry), read back from /proc.
        self._start(0)

    def _start(self, port):
        self.runs += 1
        self.log_path = os.path.join(self.dir, "stdout.%d" % self.runs)
        self._stats = {"offset": 0, "connections": {}, "paths": [], "open": {}, "pending": None}
        self.proc = iw._spawn(self.args + [str(port), self.key, self.cert], self.log_path,
                              os.path.join(self.dir, "stderr"))
        self.port = iw.wait_until(lambda: self.proc.poll() is not None or
                                  next((p for p, _ in tcp_sockets(self.proc.pid, "0A")), None),
                                  iw.START_TIMEOUT, "nghttpd to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("nghttpd exited with status %s: %s" % (self.proc.returncode,
                                                                     iw._read(os.path.join(self.dir, "stderr"))))

    def stats(self):
        """What the verbose log says so far: {"connections": {id: {"protocol", "requests",
        "max_streams"}}, "requests", "paths": [(connection id, path)]}. max_streams: the most
        streams open at once on that connection (requests in flight together). Read on from
        where the last call stopped (the log of a benchmark grows by megabytes)."""
        s = self._stats
        with open(self.log_path, "rb") as f:
            f.seek(s["offset"])
            data = f.read()
        data = data[:data.rfind(b"\n") + 1]
        s["offset"] += len(data)
        for line in data.decode("utf-8", "replace").splitlines():
            self._parse(s, line)
        return {"connections": s["connections"], "requests": len(s["paths"]), "paths": s["paths"]}

    @staticmethod
    def _parse(s, line):
        m = re.match(r"The negotiated protocol: (\S+)", line)
        if m:
            s["pending"] = m.group(1)
            return
        m = re.match(r"\[id=(\d+)\] \[\s*[\d.]+\] (.*)$", line)
        if not m:
            return
        cid, rest = int(m.group(1)), m.group(2)
        c = s["connections"].get(cid)
        if c is None:
            c = s["connections"][cid] = {"protocol": s["pending"], "requests": 0, "max_streams": 0}
            s["pending"] = None
        p = re.match(r"recv \(stream_id=(\d+)(?:, sensitive)?\) :path: (\S+)", rest)
        if p:
            c["requests"] += 1
            s["paths"].append((cid, p.group(2)))
            streams = s["open"].setdefault(cid, set())
            streams.add(p.group(1))
            c["max_streams"] = max(c["max_streams"], len(streams))
            return
        p = re.match(r"stream_id=(\d+) closed", rest)
        if p:
            s["open"].get(cid, set()).discard(p.group(1))

    def restart(self):
        """Stops nghttpd (its connections close) and starts it again on the same port; stats()
        then counts from the new start."""
        self.stop()
        self._start(self.port)
