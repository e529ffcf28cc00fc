"""Shared helpers of the `inferwatchd --once` integration tests (test-once*.py).

Each test starts an iw.Sim, writes the API key with iw.write_secret (never on a command line),
runs `inferwatchd --once [--json]` through iw.run_once, and checks what it printed: the JSON
rows, the text table, the exit code, and that nothing crashed or leaked the key.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import iw  # noqa: E402

# A key distinctive enough that finding it in the output means it leaked.
TOKEN = "iw-once-key-3f9c27d1b84e"
NAGIOS = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
# What a crash, a sanitizer or an assert() leaves on stderr.
CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
               "Segmentation", "Assertion", "Aborted", "core dumped", "SUMMARY:")
HEADER = ["PROJECT", "DEPLOYMENT", "STATUS", "HEALTH", "REGIONS", "(ready/total)", "ERROR"]
# "7:0/1", or "Luxembourg-2(7):0/1" where the daemon's saved directory names the region.
REGION_RE = re.compile(r"^(?:[^\s()]+\()?-?\d+\)?:\d+/\d+$")
# A whole --once run; hang and slow faults are cut by the account's 1 s timeout.
RUN_TIMEOUT = 20.0


def account(sim, key_path, name=None, extra=""):
    """One account group of the config, with short timeouts."""
    n = 'name = "%s"; ' % name if name else ""
    if "max_requests_per_second" not in extra:
        extra += " max_requests_per_second = 0;"  # time runs compressed: no ceiling
    return '{ %surl = "%s"; key_file = "%s"; timeout = "1s"; connect_timeout = "1s"; %s }' % (
        n, sim.url, key_path, extra)


def config(sim, key_path, projects, account_extra="", accounts=None, top=""):
    """A libconfig text: one account (or the given account groups) and the project groups."""
    accs = accounts or [account(sim, key_path, extra=account_extra)]
    return ("accounts = ( %s );\nprojects = ( %s );\nstate_directory = \"%s\";\n%s"
            % (", ".join(accs), ", ".join(projects), iw.tmpdir("state-"), top))


def named(pid, *names, acc=None):
    a = 'account = "%s"; ' % acc if acc else ""
    return '{ id = %d; %sdeployments = [ %s ]; }' % (pid, a, ", ".join('"%s"' % n for n in names))


def every(pid, acc=None):
    a = 'account = "%s"; ' % acc if acc else ""
    return '{ id = %d; %sdeployments = "*"; }' % (pid, a)


class Run:
    """One finished --once run: .rc, .out, .err, .doc (JSON mode) or .lines/.table (text)."""

    def __init__(self, rc, out, err, json_mode):
        self.rc, self.out, self.err, self.json_mode = rc, out, err, json_mode
        self.doc = None
        self.table = None
        self.first = out.split("\n", 1)[0]
        if json_mode:
            try:
                self.doc = json.loads(out)
            except ValueError:
                self.doc = None
        else:
            self.table = parse_table(out)

    def rows(self):
        return self.doc["deployments"] if self.doc else []

    def row(self, deployment, project=None):
        """The JSON row of a deployment; None when absent, AssertionError when repeated."""
        found = [r for r in self.rows() if r["deployment"] == deployment
                 and (project is None or r["project_id"] == project)]
        assert len(found) <= 1, "%s appears %d times" % (deployment, len(found))
        return found[0] if found else None

    def diag(self):
        return "rc=%r\n--- stdout ---\n%s\n--- stderr ---\n%s" % (self.rc, self.out[:4000], self.err[:4000])


def parse_table(out):
    """The text table after the Nagios line: [{project, deployment, status, health, regions,
    error}], or None when the header is not where it should be."""
    lines = out.split("\n")
    if len(lines) < 2 or lines[1].split() != HEADER:
        return None
    rows = []
    for line in lines[2:]:
        if not line:
            continue
        f = line.split()
        if len(f) < 5:
            rows.append({"bad_line": line})
            continue
        rest = f[4:]
        regions = []
        while rest and (REGION_RE.match(rest[0]) or (rest[0] == "-" and not regions)):
            regions.append(rest.pop(0))
        rows.append({"project": f[0], "deployment": f[1], "status": f[2], "health": f[3],
                     "regions": regions, "error": " ".join(rest)})
    return rows


def run(conf, json_mode=True, extra_args=(), timeout=RUN_TIMEOUT):
    args = ["--once"] + (["--json"] if json_mode else []) + list(extra_args)
    rc, out, err = iw.run_once(conf, args, timeout=timeout)
    return Run(rc, out, err, json_mode)


def check_sane(t, r, name, secrets=(TOKEN,)):
    """No crash, no sanitizer report, no secret in the output, a well-formed first line."""
    crash = [m for m in CRASH_MARKS if m in r.err]
    t.ok(r.rc in NAGIOS and not crash, "%s: exits with a Nagios code, no crash report" % name, r.diag())
    leaked = [s for s in secrets if s and (s in r.out or s in r.err)]
    t.ok(not leaked, "%s: the API key appears nowhere in stdout/stderr" % name, r.diag())
    if r.json_mode:
        ok = (isinstance(r.doc, dict) and r.doc.get("status") == NAGIOS.get(r.rc)
              and r.doc.get("exit_code") == r.rc and isinstance(r.doc.get("summary"), str)
              and isinstance(r.doc.get("deployments"), list))
        t.ok(ok, "%s: JSON has status, exit_code (= exit status), summary, deployments" % name, r.diag())
    else:
        t.ok(re.match(r"^INFERWATCH (OK|WARNING|CRITICAL|UNKNOWN) - \S", r.first)
             and r.first.split()[1] == NAGIOS.get(r.rc) and r.table is not None,
             "%s: Nagios first line matches the exit status, then the table" % name, r.diag())


def once(t, conf, name, json_mode=True, expect_rc=None, **kw):
    """Runs --once, checks sanity and (when given) the exact exit status. Returns the Run."""
    r = run(conf, json_mode, **kw)
    check_sane(t, r, name)
    if expect_rc is not None:
        t.eq(r.rc, expect_rc, "%s: exit status %d (%s)" % (name, expect_rc, NAGIOS[expect_rc]))
        if r.rc != expect_rc:
            t.diag(r.diag())
    return r


def both(t, conf, name, expect_rc):
    """Runs JSON and text mode; checks they agree (exit, summary, rows). Returns (json, text)."""
    j = once(t, conf, name + " [json]", True, expect_rc)
    x = once(t, conf, name + " [text]", False, expect_rc)
    if j.doc and x.table is not None:
        t.eq(x.first, "INFERWATCH %s - %s" % (j.doc["status"], j.doc["summary"]),
             "%s: text first line = JSON status and summary" % name)
        jr = sorted((str(r["project_id"]), r["deployment"], r["status"] or "-", r["health"]) for r in j.rows())
        xr = sorted((r.get("project"), r.get("deployment"), r.get("status"), r.get("health")) for r in x.table)
        t.eq(xr, jr, "%s: text table rows = JSON rows (project, deployment, status, health)" % name)
    return j, x


def table_row(x, deployment, project=None):
    found = [r for r in x.table or [] if r.get("deployment") == deployment
             and (project is None or r.get("project") == str(project))]
    return found[0] if len(found) == 1 else None


def containers(row):
    """[(region_id, ready, total, error_message)] of a JSON row."""
    return [(c["region_id"], c["ready"], c["total"], c["error_message"]) for c in row["containers"]]


def check_unpolled(t, r, deployment, needles, name, project=None):
    """A row that could not be polled: health unknown, no status, no containers, an error text
    with every needle (case-insensitive)."""
    row = r.row(deployment, project)
    if not t.ok(row is not None, "%s: has a row for %s" % (name, deployment), r.diag()):
        return None
    t.eq((row["health"], row["status"], row["containers"]), ("unknown", None, []),
         "%s: %s is unknown, with no status and no containers (no fake observation)" % (name, deployment))
    err = row["error"] or ""
    t.ok(all(n.lower() in err.lower() for n in needles),
         "%s: %s's error names the problem (%s)" % (name, deployment, ", ".join(needles)),
         "error: %r" % err)
    return row
