# Webhook scenario tests: the real daemon against the simulator, the sink and (when installed)
# a real Alertmanager (skipped when not installed), on compressed intervals: seconds each, the
# 10,000-event burst up to a minute.
WEBHOOK_TESTS = \
	tests/integration/test-webhook-signing.py \
	tests/integration/test-webhook-outage.py \
	tests/integration/test-webhook-crash.py \
	tests/integration/test-webhook-status-codes.py \
	tests/integration/test-webhook-filters.py \
	tests/integration/test-webhook-slack.py \
	tests/integration/test-webhook-spool-limit.py \
	tests/integration/test-webhook-am-repost.py \
	tests/integration/test-webhook-alertmanager.py \
	tests/integration/test-alertmanager-context.py \
	tests/integration/test-webhook-burst.py

TESTS += $(WEBHOOK_TESTS)
EXTRA_DIST += $(WEBHOOK_TESTS) tests/integration/hooklib.py
