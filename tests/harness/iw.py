"""inferwatch test harness: real peers for scenario tests, Python 3 standard library only.

A scenario test is a script that automake runs with python3 under its TAP driver::

    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
    import iw

    def main(t):
        with iw.Sim({"deployments": [{"project_id": 1, "name": "my-instance"}]}) as sim:
            r = sim.get(1, "my-instance")
            t.eq(r.status, 200, "get-one answers")

    iw.run(main)

What it offers:

- ``Sim`` (tests/sim/inferwatch-sim) and ``Sink`` (tests/sim/inferwatch-sink), started on
  127.0.0.1 with a kernel-chosen port, driven through their control endpoints;
- ``Daemon``/``run_once`` to run ``daemon/inferwatchd``, ``write_secret`` for key files;
- ``Journal``, a private real journald (after ``ensure_private_namespace()``), and ``Notify``,
  a fake ``NOTIFY_SOCKET``;
- ``wait_until`` (every wait is bounded) and ``Tap``/``run``, a TAP reporter.

Every child process is killed when the test ends, however it ends (exception, signal, or the
harness itself being killed: children get PR_SET_PDEATHSIG). Files live in one temporary
directory, removed at exit unless ``IW_KEEP_TMP=1``.

Binaries are found under ``$top_builddir`` (exported by ``make check``), sources under
``$top_srcdir``; both default to the checkout this file is in (an in-tree build).
"""

import atexit
import contextlib
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from urllib.parse import quote, urlencode

__all__ = [
    "Sim", "Sink", "Daemon", "Journal", "Notify", "Tap", "Response", "PeerError",
    "run", "run_once", "wait_until", "write_secret", "ensure_private_namespace",
    "srcdir", "builddir", "tmpdir",
]

_HERE = os.path.dirname(os.path.abspath(__file__))
_DEFAULT_TOP = os.path.normpath(os.path.join(_HERE, "..", ".."))
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def srcdir(*parts):
    """A path under the source tree ($top_srcdir)."""
    return os.path.join(os.environ.get("top_srcdir") or _DEFAULT_TOP, *parts)


def builddir(*parts):
    """A path under the build tree ($top_builddir)."""
    return os.path.join(os.environ.get("top_builddir") or _DEFAULT_TOP, *parts)


# ---------------------------------------------------------------------------------------------
# Temporary files and child processes


_tmp_root = None
_children = []


def tmpdir(prefix="x-"):
    """A fresh directory inside this test's temporary root."""
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = tempfile.mkdtemp(prefix="iw-")
    return tempfile.mkdtemp(prefix=prefix, dir=_tmp_root)


def _write(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def write_secret(name, value):
    """Writes value to a file readable by the owner only; returns its path."""
    return _write(os.path.join(tmpdir("secret-"), name), value, 0o600)


def _die_with_parent():
    # Runs in the child before exec: a harness killed with SIGKILL leaves no orphans.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _spawn(args, stdout_path=None, stderr_path=None, env=None, pass_fds=()):
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                preexec_fn=_die_with_parent, pass_fds=pass_fds)
    finally:
        for f in (out, err):
            if f is not subprocess.DEVNULL:
                f.close()
    _children.append(proc)
    return proc


def _terminate(proc, timeout=STOP_TIMEOUT):
    """SIGTERM, a bounded wait, then SIGKILL. Returns the exit status (negative: signal)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _cleanup():
    for proc in _children:
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(5)
    if _tmp_root and os.environ.get("IW_KEEP_TMP") != "1":
        shutil.rmtree(_tmp_root, ignore_errors=True)


atexit.register(_cleanup)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# ---------------------------------------------------------------------------------------------
# Waiting


def wait_until(fn, timeout=10.0, what="condition", interval=0.03):
    """Calls fn every interval seconds until it returns something truthy, and returns that.

    Raises TimeoutError(what) after timeout seconds. Never sleep a fixed time instead."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# HTTP


class Response:
    """One HTTP answer: .status, .headers (case-insensitive lookup), .body (bytes), .json()."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return "<Response %d, %d bytes>" % (self.status, len(self.body))


class PeerError(Exception):
    """A control request to a peer was refused; .status and .body say why."""

    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body[:300]))
        self.status = status
        self.body = body


def http_request(port, method, path, body=None, headers=None, timeout=10.0):
    """One request to 127.0.0.1:port on a fresh connection. body may be bytes, str or a
    JSON-serializable object. Returns a Response; network errors propagate."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Peers: simulator and sink


class _Peer:
    """A test peer binary: started with --port-file, stopped with SIGTERM."""

    program = None

    def __init__(self, verbose=False):
        self.dir = tmpdir(self.program + "-")
        self.port = None
        self.proc = None
        self.verbose = verbose
        self.binary = builddir("tests", "sim", self.program)

    def _args(self):
        raise NotImplementedError

    def _start(self, port=0):
        port_file = os.path.join(self.dir, "port")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(port_file)
        args = [self.binary] + self._args() + ["--port-file", port_file]
        if port:
            args += ["--listen", "127.0.0.1:%d" % port]
        if self.verbose:
            args.append("-v")
        self.proc = _spawn(args, os.path.join(self.dir, "stdout"), os.path.join(self.dir, "stderr"))
        wait_until(lambda: os.path.exists(port_file) or self.proc.poll() is not None,
                   START_TIMEOUT, "%s to listen" % self.program)
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited with status %s: %s"
                               % (self.program, self.proc.returncode, self.stderr().strip()))
        self.port = int(_read(port_file).strip())

    @property
    def url(self):
        """http://127.0.0.1:PORT"""
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """Any request to the peer; returns a Response."""
        return http_request(self.port, method, path, body, headers, timeout)

    def _control(self, method, path, body=None):
        r = self.request(method, path, body)
        if r.status >= 400:
            raise PeerError(r.status, r.body.decode("utf-8", "replace"))
        return r.json()

    def stderr(self):
        """What the peer wrote to stderr so far (its log with verbose=True)."""
        return _read(os.path.join(self.dir, "stderr"))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM and a bounded wait (SIGKILL after STOP_TIMEOUT). Returns the exit status."""
        if self.proc is None:
            return None
        return _terminate(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


class Sim(_Peer):
    """The Gcore API simulator (docs/simulator.md), started at construction.

    scenario: a dict in the scenario file format (None: empty). tokens: accepted API keys,
    passed through a 0600 file, never a command line; .token is the first one."""

    program = "inferwatch-sim"

    def __init__(self, scenario=None, tokens=("test-token",), seed=1, verbose=False):
        super().__init__(verbose)
        self.tokens = list(tokens)
        self.token = self.tokens[0] if self.tokens else None
        self.seed = seed
        self.scenario_path = _write(os.path.join(self.dir, "scenario.json"), json.dumps(scenario or {}))
        self.token_path = _write(os.path.join(self.dir, "tokens"), "".join(t + "\n" for t in self.tokens))
        self._start()

    def _args(self):
        return ["--scenario", self.scenario_path, "--token-file", self.token_path, "--seed", str(self.seed)]

    def restart(self):
        """Stops and starts again on the same port, from the scenario's initial state."""
        self.stop()
        self._start(self.port)

    # The API, as the daemon sees it.

    def api(self, path, token=None, headers=None, timeout=10.0):
        """GET path with "Authorization: APIKey <token>" (token: default .token; "" sends none)."""
        h = dict(headers or {})
        token = self.token if token is None else token
        if token:
            h["Authorization"] = "APIKey " + token
        return self.request("GET", path, headers=h, timeout=timeout)

    def get(self, project, name, **kw):
        """GET /cloud/v3/inference/{project}/deployments/{name} (name is percent-encoded)."""
        return self.api("/cloud/v3/inference/%d/deployments/%s" % (project, quote(name, safe="")), **kw)

    def list(self, project, limit=None, offset=None, **kw):
        """GET /cloud/v3/inference/{project}/deployments[?limit=&offset=]."""
        q = {k: v for k, v in (("limit", limit), ("offset", offset)) if v is not None}
        return self.api("/cloud/v3/inference/%d/deployments%s" % (project, "?" + urlencode(q) if q else ""), **kw)

    # Control.

    def set(self, project, name, **fields):
        """Merges fields into a deployment, creating it if missing; returns it as served."""
        return self._control("PUT", "/_sim/deployments/%d/%s" % (project, name), fields)

    def create(self, project, name, **fields):
        """Creates (or replaces) a deployment from defaults plus fields; returns it as served."""
        return self._control("POST", "/_sim/deployments/%d/%s" % (project, name), fields)

    def delete(self, project, name):
        """Deletes a deployment (PeerError 404 if there is none)."""
        self._control("DELETE", "/_sim/deployments/%d/%s" % (project, name))

    def deployment(self, project, name):
        """One deployment as served, without going through auth, faults or counters."""
        return self._control("GET", "/_sim/deployments/%d/%s" % (project, name))

    def deployments(self):
        """Every deployment, ordered by (project_id, name)."""
        return self._control("GET", "/_sim/deployments")

    def add_project(self, project):
        """Makes an empty project exist (its list is then {"count": 0, ...}, not a 404)."""
        self._control("PUT", "/_sim/projects/%d" % project)

    def fault(self, kind, **kw):
        """Injects a fault (kind: status, 429, hang, reset, malformed, truncated, wrongtype,
        oversize, slow; options as in docs/simulator.md, e.g. count=2, duration=1.5,
        endpoint="get", project_id=1, name="x", status=503, retry_after="3"). Returns its id."""
        return self._control("POST", "/_sim/faults", dict(kw, kind=kind))["id"]

    def faults(self):
        return self._control("GET", "/_sim/faults")

    def clear_faults(self):
        """Removes every fault; requests hung by one are answered."""
        self._control("DELETE", "/_sim/faults")

    def counters(self):
        """{"total", "by_endpoint", "by_deployment", "by_status", "by_project_list"} of API requests."""
        return self._control("GET", "/_sim/counters")

    def reset_counters(self):
        self._control("POST", "/_sim/counters/reset")

    def clock(self):
        """{"t": scenario seconds, "paused": bool}"""
        return self._control("GET", "/_sim/clock")

    def pause(self):
        return self._control("POST", "/_sim/clock", {"pause": True})

    def resume(self):
        return self._control("POST", "/_sim/clock", {"resume": True})

    def advance(self, seconds):
        """Moves the scenario clock forward; timeline events now due are applied before this returns."""
        return self._control("POST", "/_sim/clock", {"advance": seconds})

    def changes(self, since=0):
        """Every change applied so far: [{"seq", "t", "realtime_us", "project_id", "name", "status", "action"}]."""
        return self._control("GET", "/_sim/changes?since=%d" % since)

    def set_context(self, **kw):
        """Replaces the region directory (regions=[{"id", "display_name", "state"}]) and/or the
        capacity (capacity=[{"region_id", "capacity": [{"flavor_name", "capacity"}]}])."""
        self._control("PUT", "/_sim/context", kw)

    def add_logs(self, project, name, region, lines):
        """Adds log lines (strings, or {"hex": "1b5b", "repeat": N}) to a deployment's region."""
        self._control("POST", "/_sim/logs", {"project_id": project, "name": name, "region_id": region,
                                             "lines": lines})

    def set_tokens(self, tokens):
        """Replaces the accepted API keys (to revoke or rotate one mid-test)."""
        self.tokens = list(tokens)
        self._control("PUT", "/_sim/tokens", {"tokens": self.tokens})


class Sink(_Peer):
    """The webhook receiver, started at construction. secret: a Standard Webhooks secret
    ("whsec_..." or raw), given through a 0600 file; None leaves signatures unchecked."""

    program = "inferwatch-sink"

    def __init__(self, secret=None, verbose=False):
        super().__init__(verbose)
        self.secret = secret
        self.secret_path = _write(os.path.join(self.dir, "secret"), secret) if secret else None
        self.record_path = os.path.join(self.dir, "deliveries.jsonl")
        self._start()

    def _args(self):
        args = ["--record", self.record_path]
        if self.secret_path:
            args += ["--secret-file", self.secret_path]
        return args

    def hook_url(self, path="/hook"):
        """A URL to configure as a webhook."""
        return self.url + path

    def start_again(self):
        """Starts again on the same port after stop(): in between, connections are refused.
        Deliveries in memory start over; the record file keeps growing."""
        self._start(self.port)

    def deliveries(self, since=0):
        """[{"index", "time_us", "method", "path", "headers", "body", "signature",
        "timestamp_fresh", "status"}] received since index since."""
        return self._control("GET", "/_sink/deliveries?since=%d" % since)

    def wait_deliveries(self, n, timeout=10.0):
        """Waits until at least n deliveries arrived; returns them all."""
        return wait_until(lambda: (lambda d: d if len(d) >= n else None)(self.deliveries()),
                          timeout, "%d deliveries" % n)

    def records(self):
        """The record file, parsed: one dict per delivery ever received."""
        return [json.loads(line) for line in _read(self.record_path).splitlines() if line.strip()]

    def behave(self, **kw):
        """Changes how deliveries are answered: status=503, count=N or duration=S,
        retry_after="3", location="https://...", delay=S, hang=True, body="..."."""
        return self._control("POST", "/_sink/behaviour", kw)

    def normal(self):
        """Back to answering 200; releases hung deliveries."""
        return self._control("DELETE", "/_sink/behaviour")

    def reset(self):
        """Forgets deliveries in memory (not in the record file)."""
        return self._control("POST", "/_sink/reset")


# ---------------------------------------------------------------------------------------------
# The daemon under test


class Daemon:
    """daemon/inferwatchd -c CONF [args...], CONF written from config_text with mode 0600.

    env is added to the inherited environment. stdout and stderr go to files. wrapper is a
    command put in front, e.g. ("valgrind", "--leak-check=full"); pass_fds stay open in it."""

    def __init__(self, config_text, args=(), env=None, binary=None, wrapper=(), pass_fds=()):
        self.dir = tmpdir("daemon-")
        self.config_path = _write(os.path.join(self.dir, "inferwatch.conf"), config_text, 0o600)
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.args = list(wrapper) + [binary or builddir("daemon", "inferwatchd"), "-c", self.config_path] + list(args)
        self.proc = _spawn(self.args, self.stdout_path, self.stderr_path, full_env, pass_fds)

    @property
    def pid(self):
        return self.proc.pid

    @property
    def returncode(self):
        """The exit status once it exited (negative: killed by that signal), else None."""
        return self.proc.poll()

    def wait_exit(self, timeout=10.0):
        """Waits for the daemon to exit by itself; returns the status, TimeoutError if it does not."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError("inferwatchd still running after %gs" % timeout) from None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL, as a crash or an OOM kill would."""
        self.proc.kill()
        self.proc.wait()

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait. A daemon still running after timeout is killed and TimeoutError raised."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError("inferwatchd ignored SIGTERM for %gs" % timeout) from None

    def stdout(self):
        return _read(self.stdout_path)

    def stderr(self):
        return _read(self.stderr_path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return False


def run_once(config_text, args=(), env=None, timeout=30.0, binary=None):
    """Runs inferwatchd to completion (e.g. --once, -t); returns (returncode, stdout, stderr)."""
    d = Daemon(config_text, args, env, binary)
    try:
        rc = d.wait_exit(timeout)
    finally:
        if d.returncode is None:
            d.kill()
    return rc, d.stdout(), d.stderr()


# ---------------------------------------------------------------------------------------------
# journald and the notify protocol


_NS_ENV = "IW_PRIVATE_NS"
JOURNALD = "/lib/systemd/systemd-journald"
_JOURNAL_DIRS = ("/run/systemd", "/run/log", "/var/log/journal")


def _namespace_unavailable():
    """Why a private journald cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root for a private mount namespace"
    for tool in ("unshare", "mount", "journalctl"):
        if not shutil.which(tool):
            return "%s not found" % tool
    if not os.access(JOURNALD, os.X_OK):
        return "%s not found" % JOURNALD
    # journald exits at once ("Failed to acquire cgroup root path") without a cgroup file system,
    # e.g. in a build chroot without /sys.
    if not os.path.isdir("/sys/fs/cgroup") or not os.listdir("/sys/fs/cgroup"):
        return "no cgroup file system at /sys/fs/cgroup (a chroot without /sys?)"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs",
                            "/run/log" if os.path.isdir("/run/log") else "/tmp"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20)
    if probe.returncode != 0:
        return "unshare -m cannot mount: %s" % probe.stderr.decode(errors="replace").strip()
    return None


_MACHINE_ID = "/etc/machine-id"


def _machine_id_valid():
    try:
        with open(_MACHINE_ID) as f:
            text = f.read().strip()
    except OSError:
        return False
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def _give_machine_id():
    """journald exits at once, with an empty stderr, where /etc/machine-id is missing or empty
    (containers, chroots). Inside the private namespace only, put a generated id there: a bind
    mount over the file, or an overlay of /etc where there is no file to mount over. The files
    live on a tmpfs (an overlay's upper directory cannot be on the overlay many container roots
    are). Returns None, or why it could not."""
    if _machine_id_valid():
        return None
    d = tempfile.mkdtemp(prefix="iw-machine-id-")

    def remove():
        subprocess.run(["umount", "-l", d], stderr=subprocess.DEVNULL)
        with contextlib.suppress(OSError):
            os.rmdir(d)
    atexit.register(remove)

    def mount(*args):
        r = subprocess.run(["mount"] + list(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20)
        return None if r.returncode == 0 else "mount %s: %s" % (" ".join(args), r.stderr.decode(errors="replace").strip())

    problem = mount("-t", "tmpfs", "tmpfs", d)
    if problem:
        return problem
    upper, work = os.path.join(d, "upper"), os.path.join(d, "work")
    os.mkdir(upper)
    os.mkdir(work)
    generated = os.path.join(upper, "machine-id")
    _write(generated, os.urandom(16).hex() + "\n", 0o444)
    if os.path.isfile(_MACHINE_ID):
        problem = mount("--bind", generated, _MACHINE_ID)
    else:
        problem = mount("-t", "overlay", "overlay", "-o",
                        "lowerdir=/etc,upperdir=%s,workdir=%s" % (upper, work), "/etc")
    if problem:
        return problem
    return None if _machine_id_valid() else "%s is still not a valid machine id" % _MACHINE_ID


def ensure_private_namespace():
    """Re-executes the running script inside "unshare -m --propagation private", so that the
    tmpfs mounts of Journal are private to it, and gives that namespace a machine id if the
    system has none. Call it first thing in a test that uses Journal.

    Where that is impossible (not root, no unshare, no journald, no machine id) the test is
    reported as skipped through Tap.skip_all(), never passed."""
    if os.environ.get(_NS_ENV) == "1":
        problem = _give_machine_id()
        if problem:
            Tap().skip_all("no private journald: no machine id for journald (%s)" % problem)
        return
    reason = _namespace_unavailable()
    if reason:
        Tap().skip_all("no private journald: " + reason)
    os.environ[_NS_ENV] = "1"
    sys.stdout.flush()
    os.execvp("unshare", ["unshare", "-m", "--propagation", "private", sys.executable] + sys.argv)


class Journal:
    """A throw-away systemd-journald, private to this test: tmpfs mounted over the journal
    directories inside the namespace of ensure_private_namespace(), so the host's journal is
    never touched.

    entries(**match) reads it back with journalctl; wait_for() polls until entries appear."""

    def __init__(self):
        if os.environ.get(_NS_ENV) != "1":
            raise RuntimeError("call iw.ensure_private_namespace() first: "
                               "refusing to mount over the host's journal")
        for d in _JOURNAL_DIRS:
            os.makedirs(d, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
        os.makedirs("/run/systemd/journal", exist_ok=True)
        self.dir = tmpdir("journald-")
        self.proc = _spawn([JOURNALD], None, os.path.join(self.dir, "stderr"))
        wait_until(lambda: os.path.exists("/run/systemd/journal/socket") or self.proc.poll() is not None,
                   START_TIMEOUT, "journald's socket")
        if self.proc.poll() is not None:
            raise RuntimeError("systemd-journald exited: " + _read(os.path.join(self.dir, "stderr")))

    def entries(self, **match):
        """Entries as dicts (journalctl -o json), filtered by FIELD=value matches, e.g.
        entries(SYSLOG_IDENTIFIER="inferwatchd", EVENT="alert.firing")."""
        args = ["journalctl", "--no-pager", "-o", "json"] + ["%s=%s" % kv for kv in match.items()]
        out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20).stdout
        return [json.loads(line) for line in out.decode("utf-8", "replace").splitlines() if line.strip()]

    def wait_for(self, predicate_or_matches, timeout=10.0, count=1):
        """Waits until at least count entries match, and returns the matching entries.

        predicate_or_matches: a dict of field matches, or a function entry -> bool."""
        if callable(predicate_or_matches):
            def found():
                return [e for e in self.entries() if predicate_or_matches(e)]
            what = "journal entries matching a predicate"
        else:
            def found():
                return self.entries(**predicate_or_matches)
            what = "journal entries %r" % (predicate_or_matches,)
        return wait_until(lambda: (lambda es: es if len(es) >= count else None)(found()), timeout, what,
                          interval=0.05)

    def stop(self):
        _terminate(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


class Notify:
    """A fake NOTIFY_SOCKET: give .env (or .path) to the daemon, read its datagrams."""

    def __init__(self):
        self.path = os.path.join(tmpdir("notify-"), "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self._messages = []

    @property
    def env(self):
        """{"NOTIFY_SOCKET": path}, to merge into Daemon's env."""
        return {"NOTIFY_SOCKET": self.path}

    def messages(self):
        """Every datagram received so far, as text ("READY=1\\nSTATUS=...")."""
        while True:
            try:
                self._messages.append(self.sock.recv(65536).decode("utf-8", "replace"))
            except BlockingIOError:
                return list(self._messages)

    def wait_for(self, text, timeout=10.0):
        """Waits for a datagram with a line equal to text or starting with it ("STATUS=");
        returns that datagram."""
        def found():
            for m in self.messages():
                if any(line == text or line.startswith(text) for line in m.splitlines()):
                    return m
            return None
        return wait_until(found, timeout, "notify message %r" % text)

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# TAP


class Tap:
    """A small TAP producer for automake's TAP driver.

    t.ok(cond, name, diag=None), t.eq(got, expected, name), t.skip(name, reason),
    t.diag(text), with t.case(name): ... (an exception is a "not ok" with its traceback),
    t.skip_all(reason), t.done()."""

    def __init__(self):
        self.count = 0
        self.failed = 0

    def _line(self, text):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            self._line("# " + line)

    def ok(self, cond, name, diag=None):
        """Reports one test; returns cond so a test can stop early."""
        self.count += 1
        name = str(name).replace("#", "\\#").replace("\n", " ")
        self._line("%s %d - %s" % ("ok" if cond else "not ok", self.count, name))
        if not cond:
            self.failed += 1
            if diag is not None:
                self.diag(diag)
        return bool(cond)

    def eq(self, got, expected, name, diag=None):
        """ok(got == expected); on failure both values (and diag, if given) are shown."""
        text = "got:      %r\nexpected: %r" % (got, expected)
        return self.ok(got == expected, name, text + ("\n" + diag if diag else ""))

    def skip(self, name, reason):
        self.count += 1
        self._line("ok %d - %s # SKIP %s" % (self.count, name, reason))

    @contextlib.contextmanager
    def case(self, name):
        """Runs a block as one test: "ok" unless it raises (then "not ok" plus the traceback).
        Checks inside it are reported as usual."""
        try:
            yield
        except Exception:
            self.ok(False, name, traceback.format_exc())
        else:
            self.ok(True, name)

    def skip_all(self, reason):
        """Reports the whole test as skipped and exits. The status is 0, which automake's TAP
        driver needs (it reports 77 as an ERROR); IW_SKIP_STATUS=77 for a simple runner."""
        self._line("1..0 # SKIP %s" % reason)
        sys.exit(int(os.environ.get("IW_SKIP_STATUS", "0")))

    def done(self):
        """Prints the plan; exits 0 if everything passed, else 1."""
        self._line("1..%d" % self.count)
        sys.exit(0 if self.failed == 0 else 1)


def _exit_on_signal(signum, frame):
    # Turn SIGTERM (make's timeout, a Ctrl-C) into SystemExit so atexit kills the children.
    raise SystemExit(128 + signum)


def run(main):
    """Runs main(t) with a fresh Tap: an escaping exception is a "not ok" with its traceback;
    children are killed and temporary files removed however it ends."""
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    t = Tap()
    try:
        main(t)
    except SystemExit:
        raise
    except BaseException:
        t.ok(False, "test raised an exception", traceback.format_exc())
    t.done()
