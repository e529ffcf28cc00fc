# Offline checks of what ships besides the daemon: the unit, the journal catalog, the man pages
# and the example configuration, against lists the code itself prints.
check_PROGRAMS += tests/tools/list-events tests/tools/list-config-keys
tests_tools_list_events_SOURCES = tests/tools/list-events.c
tests_tools_list_events_LDADD = $(INFERWATCH_LIBS)
tests_tools_list_config_keys_SOURCES = tests/tools/list-config-keys.c
tests_tools_list_config_keys_LDADD = $(INFERWATCH_LIBS)

OFFLINE_TESTS = \
	tests/offline/unit.sh \
	tests/offline/catalog.sh \
	tests/offline/man-lint.sh \
	tests/offline/example-config.sh \
	tests/offline/doc-coverage.sh \
	tests/offline/completion.sh \
	tests/offline/man-width.sh \
	tests/offline/rules.sh
TESTS += $(OFFLINE_TESTS)
EXTRA_DIST += $(OFFLINE_TESTS) tests/offline/tap.sh completion/inferwatchd.bash
