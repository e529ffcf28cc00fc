"""The harness's private journald: entries written through the journal socket are read back."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iw  # noqa: E402

iw.ensure_private_namespace()


def main(t):
    with iw.Journal() as journal:
        subprocess.run(["systemd-cat", "-t", "iw-selftest", "-p", "warning", "echo", "hello from a test"],
                       check=True, timeout=10)
        entries = journal.wait_for({"SYSLOG_IDENTIFIER": "iw-selftest"}, 10)
        t.eq((entries[0]["MESSAGE"], entries[0]["PRIORITY"]), ("hello from a test", "4"),
             "an entry sent to the private journald is read back")
        got = journal.wait_for(lambda e: e.get("MESSAGE") == "hello from a test", 5)
        t.eq(len(got), 1, "wait_for with a predicate")
        t.eq(journal.entries(SYSLOG_IDENTIFIER="someone-else"), [], "matches filter")
    host = subprocess.run(["journalctl", "--no-pager", "-o", "json", "SYSLOG_IDENTIFIER=iw-selftest"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20).stdout
    t.ok(b"hello from a test" in host, "journalctl inside the namespace sees the private journal")


iw.run(main)
