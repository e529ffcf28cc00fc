"""Shared set-up for the daemon's scenario tests: a private journald, the simulator, a key
file, a state directory, and inferwatchd logging to that journald.

Every test file starts with ``scenario.begin()`` (it re-executes itself in a private mount
namespace, or reports SKIP when that is impossible) and then uses ``World``.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import iw  # noqa: E402

TOKEN = "29841$c767-scenario-secret-token"

# Compressed time: a poll cycle of seconds, not minutes.
DEFAULTS = {
    "interval": '"2s"',
    "fast_interval": '"300ms"',
    "stuck_after": '"1m"',
    "for": "2",
    "resolve_for": "1",
    "repeat_interval": '"1h"',
    "unreachable_after": "3",
}


def begin():
    iw.ensure_private_namespace()


class World:
    """The peers of one scenario. ``with World(scenario) as w:`` then ``w.start(...)``."""

    def __init__(self, scenario=None, tokens=(TOKEN,), tls=False):
        self.journal = iw.Journal()
        self.sim = iw.Sim(scenario or {}, tokens=tokens, tls=tls)
        self.key = iw.write_secret("api-key", TOKEN)
        self.state = iw.tmpdir("state-")
        self.daemon = None

    def config(self, projects, account_extra="", **settings):
        """libconfig text: projects is a list of (id, names or "*") pairs."""
        values = dict(DEFAULTS)
        values.update({k: v for k, v in settings.items()})
        top = "".join("%s = %s;\n" % (k, v) for k, v in values.items() if v is not None)
        ps = []
        for pid, names in projects:
            if names == "*":
                ps.append('{ id = %d; deployments = "*"; }' % pid)
            else:
                ps.append("{ id = %d; deployments = [ %s ]; }" % (pid, ", ".join('"%s"' % n for n in names)))
        # Time runs compressed here, so the ceiling tuned for real intervals would throttle
        # every scenario: off unless the test sets one. Scenarios count get-one requests of
        # named deployments: the list plan only where a test asks for it.
        if "max_requests_per_second" not in account_extra:
            account_extra += " max_requests_per_second = 0;"
        if "list_named_deployments" not in account_extra:
            account_extra += " list_named_deployments = false;"
        # A TLS handshake counts in the connect time: a test over HTTPS on a loaded machine (or
        # a sanitizer build) may give itself longer.
        if "connect_timeout" not in account_extra:
            account_extra += ' connect_timeout = "1s";'
        if not re.search(r"(^|[\s;])timeout\s*=", account_extra):
            account_extra += ' timeout = "2s";'
        return (top + 'state_directory = "%s";\n' % self.state +
                'accounts = ( { name = "main"; url = "%s"; key_file = "%s"; '
                '%s } );\n' % (self.sim.url, self.key, account_extra) +
                "projects = ( %s );\n" % ", ".join(ps))

    def start(self, config_text, env=None, args=()):
        self.daemon = iw.Daemon(config_text, args=["--log-target=journal"] + list(args), env=env)
        try:
            self.wait_event("monitor.started")
        except TimeoutError:
            raise RuntimeError("inferwatchd did not start (exit status %r); its stderr:\n%s"
                               % (self.daemon.returncode, self.daemon.stderr()[-3000:])) from None
        return self.daemon

    def events(self, **match):
        """inferwatchd's event entries, oldest first, optionally filtered (DEPLOYMENT="x")."""
        return [e for e in self.journal.entries(SYSLOG_IDENTIFIER="inferwatchd", **match) if "EVENT" in e]

    def types(self, **match):
        return [e["EVENT"] for e in self.events(**match)]

    def wait_event(self, event, timeout=15.0, count=1, **match):
        """Waits for count entries of this event type (and field matches); returns them."""
        return self.journal.wait_for(dict(SYSLOG_IDENTIFIER="inferwatchd", EVENT=event, **match),
                                     timeout=timeout, count=count)

    def logs(self):
        """The daemon's own messages (entries without EVENT), as text lines."""
        return [e.get("MESSAGE", "") for e in self.journal.entries(SYSLOG_IDENTIFIER="inferwatchd")
                if "EVENT" not in e]

    def close(self):
        if self.daemon:
            self.daemon.stop()
        self.sim.stop()
        self.journal.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def no_sanitizer_report(t, daemon, name="no sanitizer report or crash"):
    err = daemon.stderr()
    bad = [m for m in ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer", "Segmentation fault",
                       "Assertion") if m in err]
    t.ok(not bad, name, diag=err[-3000:] if bad else None)
