# Scenario tests of the daemon: the real binary, the simulator, a private journald.
DAEMON_SCENARIOS = \
	tests/integration/test-rollout.py \
	tests/integration/test-damping.py \
	tests/integration/test-discovery.py \
	tests/integration/test-request-plan.py \
	tests/integration/test-faults.py \
	tests/integration/test-api-isolation.py \
	tests/integration/test-restart.py \
	tests/integration/test-hostile-text.py \
	tests/integration/test-state-lock.py \
	tests/integration/test-notify.py \
	tests/integration/test-reload-faults.py \
	tests/integration/test-budget.py \
	tests/integration/test-secrets.py \
	tests/integration/test-valgrind.py \
	tests/integration/test-context.py \
	tests/integration/test-context-faults.py \
	tests/integration/test-context-capacity.py \
	tests/integration/test-context-capacity-faults.py \
	tests/integration/test-context-off.py \
	tests/integration/test-noise.py \
	tests/integration/test-flap-journal.py \
	tests/integration/test-https.py \
	tests/integration/test-https-h2.py \
	tests/integration/test-https-h2-goaway.py
TESTS += $(DAEMON_SCENARIOS)
EXTRA_DIST += $(DAEMON_SCENARIOS) tests/integration/scenario.py

# High availability: three daemons on a real 3-member etcd cluster (skipped without etcd).
HA_TESTS = tests/integration/test-ha.py tests/integration/test-ha-large.py tests/integration/test-ha-start-fail.py
HA_TESTS += tests/integration/test-ha-outbox.py tests/integration/test-ha-load.py tests/integration/test-ha-tls.py \
	tests/integration/test-ha-heartbeat.py
TESTS += $(HA_TESTS)
EXTRA_DIST += $(HA_TESTS) tests/integration/etcdlib.py
