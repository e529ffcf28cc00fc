# Fuzz harnesses. With --enable-fuzzing (CC=clang) they are libFuzzer programs; in every build
# their corpora are replayed as ordinary tests by the same harness linked with replay.c.
check_PROGRAMS += tests/fuzz/replay-response tests/fuzz/replay-config
tests_fuzz_replay_response_SOURCES = tests/fuzz/fuzz-response.c tests/fuzz/replay.c
tests_fuzz_replay_response_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"response"'
tests_fuzz_replay_response_LDADD = $(INFERWATCH_LIBS)
tests_fuzz_replay_config_SOURCES = tests/fuzz/fuzz-config.c tests/fuzz/replay.c
tests_fuzz_replay_config_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"config"'
tests_fuzz_replay_config_LDADD = $(INFERWATCH_LIBS)
TESTS += tests/fuzz/replay-response tests/fuzz/replay-config
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/json.dict

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-response tests/fuzz/fuzz-config
tests_fuzz_fuzz_response_SOURCES = tests/fuzz/fuzz-response.c
tests_fuzz_fuzz_response_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_response_LDADD = $(INFERWATCH_LIBS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c
tests_fuzz_fuzz_config_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_LDADD = $(INFERWATCH_LIBS)
endif
