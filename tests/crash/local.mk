# The daemon with crash hooks (tests/crash/crashpoint.c replaces daemon/crashpoint.c: an object
# given explicitly wins over the library's), and the crash-consistency test that kills it.
check_PROGRAMS += tests/crash/inferwatchd-crashpoints
tests_crash_inferwatchd_crashpoints_SOURCES = daemon/main.c tests/crash/crashpoint.c
tests_crash_inferwatchd_crashpoints_LDADD = $(INFERWATCH_LIBS)

TESTS += tests/integration/test-crash-consistency.py
EXTRA_DIST += tests/integration/test-crash-consistency.py
# The same build's fault hooks (INFERWATCH_FAULT): a save of state.json or a spool sync that fails.
TESTS += tests/integration/test-save-faults.py tests/integration/test-ha-store-retry.py
EXTRA_DIST += tests/integration/test-save-faults.py tests/integration/test-ha-store-retry.py
# A leader that cannot read the state from etcd lets another member lead.
TESTS += tests/integration/test-ha-load-fail.py
EXTRA_DIST += tests/integration/test-ha-load-fail.py
# A leader's commit to etcd cut between its transactions (store-txn), or whose answer is lost
# (store-answer); a leader whose lease runs out in a long reload (INFERWATCH_PAUSE=reload:MS).
TESTS += tests/integration/test-ha-cut-commit.py tests/integration/test-ha-stop.py
EXTRA_DIST += tests/integration/test-ha-cut-commit.py tests/integration/test-ha-stop.py
