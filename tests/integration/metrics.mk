# /metrics scenario tests: the real daemon against the simulator and the sink, checked with
# promtool and (when installed) scraped by a real Prometheus server.
METRICS_TESTS = \
	tests/integration/test-metrics.py \
	tests/integration/test-metrics-faults.py \
	tests/integration/test-metrics-prometheus.py \
	tests/integration/test-alertmanager-endsat.py \
	tests/integration/test-heartbeat.py

TESTS += $(METRICS_TESTS)
EXTRA_DIST += $(METRICS_TESTS) tests/integration/metricslib.py tests/integration/promlib.py
