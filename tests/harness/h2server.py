"""A real HTTP/2 server for tests and benchmarks: nghttpd (Debian package nghttp2-server) serving
static files over TLS (ALPN h2) from a document root, on 127.0.0.1 with a kernel-chosen port.

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
import os
import re
import shutil

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


class H2Server:
    """nghttpd over TLS with a certificate of a CA made at run time (iw.make_test_ca): .ca_file,
    .url (https://127.0.0.1:PORT), .docroot. Stopped by stop() or at the test's end."""

    def __init__(self, verbose=True, workers=1, max_streams=None):
        self.dir = iw.tmpdir("nghttpd-")
        self.docroot = os.path.join(self.dir, "htdocs")
        os.makedirs(self.docroot)
        self.ca_file, self.cert, self.key = iw.make_test_ca()
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

    def stop(self):
        return iw._terminate(self.proc)
