# cmocka unit tests, one program per module, TAP output through the automake driver.
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DTEST_SRCDIR='"$(abs_top_srcdir)/tests"'
UNIT_LIBS = $(INFERWATCH_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test-gcore
tests_unit_test_gcore_SOURCES = tests/unit/test-gcore.c
tests_unit_test_gcore_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gcore_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-gcore

EXTRA_DIST += tests/fixtures tests/unit/data

check_PROGRAMS += tests/unit/test-health
tests_unit_test_health_SOURCES = tests/unit/test-health.c
tests_unit_test_health_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_health_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-health

check_PROGRAMS += tests/unit/test-diff
tests_unit_test_diff_SOURCES = tests/unit/test-diff.c
tests_unit_test_diff_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_diff_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-diff

check_PROGRAMS += tests/unit/test-strtable
tests_unit_test_strtable_SOURCES = tests/unit/test-strtable.c
tests_unit_test_strtable_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_strtable_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-strtable

check_PROGRAMS += tests/unit/test-util
tests_unit_test_util_SOURCES = tests/unit/test-util.c
tests_unit_test_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_util_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-util

check_PROGRAMS += tests/unit/test-event
tests_unit_test_event_SOURCES = tests/unit/test-event.c
tests_unit_test_event_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_event_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-event

check_PROGRAMS += tests/unit/test-state
tests_unit_test_state_SOURCES = tests/unit/test-state.c
tests_unit_test_state_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_state_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-state

check_PROGRAMS += tests/unit/test-sign
tests_unit_test_sign_SOURCES = tests/unit/test-sign.c
tests_unit_test_sign_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sign_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-sign

check_PROGRAMS += tests/unit/test-config
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-config

check_PROGRAMS += tests/unit/test-webhook
tests_unit_test_webhook_SOURCES = tests/unit/test-webhook.c
tests_unit_test_webhook_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_webhook_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-webhook

check_PROGRAMS += tests/unit/test-spool
tests_unit_test_spool_SOURCES = tests/unit/test-spool.c
tests_unit_test_spool_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_spool_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-spool

check_PROGRAMS += tests/unit/test-logtail
tests_unit_test_logtail_SOURCES = tests/unit/test-logtail.c
tests_unit_test_logtail_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_logtail_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-logtail

check_PROGRAMS += tests/unit/test-lock
tests_unit_test_lock_SOURCES = tests/unit/test-lock.c
tests_unit_test_lock_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lock_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-lock

check_PROGRAMS += tests/unit/test-cluster
tests_unit_test_cluster_SOURCES = tests/unit/test-cluster.c
tests_unit_test_cluster_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cluster_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-cluster

check_PROGRAMS += tests/unit/test-signature
tests_unit_test_signature_SOURCES = tests/unit/test-signature.c
tests_unit_test_signature_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_signature_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-signature

check_PROGRAMS += tests/unit/test-flap
tests_unit_test_flap_SOURCES = tests/unit/test-flap.c
tests_unit_test_flap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_flap_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-flap

check_PROGRAMS += tests/unit/test-metrics
tests_unit_test_metrics_SOURCES = tests/unit/test-metrics.c
tests_unit_test_metrics_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_metrics_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test-metrics
