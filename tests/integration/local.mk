# End-to-end tests of the daemon against the simulator over loopback HTTP.
TESTS += \
	tests/integration/test-once.py \
	tests/integration/test-once-faults.py \
	tests/integration/test-once-drift.py
EXTRA_DIST += \
	tests/integration/oncelib.py \
	tests/integration/test-once.py \
	tests/integration/test-once-faults.py \
	tests/integration/test-once-drift.py
