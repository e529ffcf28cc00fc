"""A real HTTP/2 server for tests and benchmarks: nghttpd (Debian package nghttp2-server) serving
static files over TLS (ALPN h2) from a document root, on 127.0.0.1 with a kernel-chosen port.

The API is mirrored as files: ``publish(path, body)`` writes the answer to GET ``path`` (the
query string is ignored by nghttpd), atomically (a temporary file renamed over the old one).
nghttpd keeps the files it serves open and checks them again at most every 10 seconds, so a
rewritten answer is served within about 10 s: wait for it on a condition, never a sleep.

With ``verbose`` (the default) nghttpd logs every frame to its stdout (``-v``), which
``log()``/``stats()`` read: the negotiated protocol of each connection, each request's stream
and path. The log holds every request header as received, the API key included: never print
it; ``stats()`` gives the counts without the headers.
"""

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


def _listening_port(pid):
    """The TCP port a process listens on (its sockets' inodes in /proc/net/tcp), or None."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            with_target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            m = re.match(r"socket:\[(\d+)\]$", with_target)
            if m:
                inodes.add(m.group(1))
    except OSError:
        return None
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            # local_address rem_address st ... inode (10th field); st 0A = LISTEN
            if fields[3] == "0A" and fields[9] in inodes:
                return int(fields[1].split(":")[1], 16)
    return None


class H2Server:
    """nghttpd over TLS with a certificate of a CA made at run time (iw.make_test_ca): .ca_file,
    .url (https://127.0.0.1:PORT), .docroot. Stopped by stop() or at the test's end."""

    def __init__(self, verbose=True, workers=1):
        self.dir = iw.tmpdir("nghttpd-")
        self.docroot = os.path.join(self.dir, "htdocs")
        os.makedirs(self.docroot)
        self.ca_file, self.cert, self.key = iw.make_test_ca()
        self.log_path = os.path.join(self.dir, "stdout")
        binary = shutil.which(NGHTTPD) or "/usr/sbin/" + NGHTTPD
        # Port 0: the kernel picks a free one (no clash, no retry), read back from /proc.
        args = [binary, "-a", "127.0.0.1", "-d", self.docroot, "-n", str(workers)]
        args += ["-v"] if verbose else []
        args += ["0", self.key, self.cert]
        self.proc = iw._spawn(args, self.log_path, os.path.join(self.dir, "stderr"))
        self.port = iw.wait_until(lambda: self.proc.poll() is not None or _listening_port(self.proc.pid),
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

    def log(self):
        return iw._read(self.log_path)

    def stats(self):
        """What the verbose log says so far: {"connections": {id: {"protocol", "requests",
        "max_streams"}}, "requests", "paths": [(connection id, path)]}. max_streams: the most
        streams open at once on that connection (requests in flight together)."""
        conns, paths, pending, open_streams = {}, [], None, {}
        for line in self.log().splitlines():
            m = re.match(r"The negotiated protocol: (\S+)", line)
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"\[id=(\d+)\] \[\s*[\d.]+\] (.*)$", line)
            if not m:
                continue
            cid, rest = int(m.group(1)), m.group(2)
            c = conns.get(cid)
            if c is None:
                c = conns[cid] = {"protocol": pending, "requests": 0, "max_streams": 0}
                pending = None
            p = re.match(r"recv \(stream_id=(\d+)(?:, sensitive)?\) :path: (\S+)", rest)
            if p:
                c["requests"] += 1
                paths.append((cid, p.group(2)))
                s = open_streams.setdefault(cid, set())
                s.add(p.group(1))
                c["max_streams"] = max(c["max_streams"], len(s))
                continue
            p = re.match(r"stream_id=(\d+) closed", rest)
            if p:
                open_streams.get(cid, set()).discard(p.group(1))
        return {"connections": conns, "requests": len(paths), "paths": paths}

    def stop(self):
        return iw._terminate(self.proc)
