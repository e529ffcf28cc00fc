# Test peers: the Gcore API simulator, the webhook sink, their tests, and a benchmark.
# Built by `make` (the demo uses them); tested by `make check`; benchmarked by `make bench-sim`.
SIM_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
SIM_LIBS = tests/sim/libpeer.a daemon/libinferwatch.a $(MHD_LIBS) $(JSONC_LIBS) $(SYSTEMD_LIBS) -lpthread -lm

noinst_LIBRARIES += tests/sim/libpeer.a
tests_sim_libpeer_a_SOURCES = tests/sim/peer.c tests/sim/peer.h tests/sim/peer-park.c
tests_sim_libpeer_a_CFLAGS = $(SIM_CFLAGS)

noinst_PROGRAMS += tests/sim/inferwatch-sim tests/sim/inferwatch-sink
tests_sim_inferwatch_sim_SOURCES = \
	tests/sim/sim.h \
	tests/sim/sim-main.c \
	tests/sim/sim-server.c \
	tests/sim/sim-api.c \
	tests/sim/sim-context.c \
	tests/sim/sim-control.c \
	tests/sim/sim-model.c \
	tests/sim/sim-deployment.c \
	tests/sim/sim-scenario.c \
	tests/sim/sim-clock.c \
	tests/sim/sim-faults.c \
	tests/sim/sim-fault-reply.c \
	tests/sim/sim-counters.c
tests_sim_inferwatch_sim_CFLAGS = $(SIM_CFLAGS)
tests_sim_inferwatch_sim_LDADD = $(SIM_LIBS)

tests_sim_inferwatch_sink_SOURCES = \
	tests/sim/sink.h \
	tests/sim/sink-main.c \
	tests/sim/sink-server.c \
	tests/sim/sink-deliveries.c \
	tests/sim/sink-signature.c
tests_sim_inferwatch_sink_CFLAGS = $(SIM_CFLAGS)
tests_sim_inferwatch_sink_LDADD = $(SIM_LIBS) $(CRYPTO_LIBS)

# Built on demand only (by `make bench-sim`). The root Makefile.am does not declare
# EXTRA_PROGRAMS; a later fragment that needs it should turn this into `+=` and declare it there.
EXTRA_PROGRAMS = tests/sim/bench-sim
tests_sim_bench_sim_SOURCES = tests/sim/bench-sim.c
tests_sim_bench_sim_LDADD = daemon/libinferwatch.a $(CURL_LIBS) $(JSONC_LIBS)
CLEANFILES += tests/sim/bench-sim

TESTS += \
	tests/harness/test-harness.py \
	tests/harness/test-journal.py \
	tests/harness/test-machine-id.sh \
	tests/sim/test-sim.py \
	tests/sim/test-sink.py
EXTRA_DIST += \
	tests/harness/test-harness.py \
	tests/harness/test-journal.py \
	tests/harness/test-machine-id.sh \
	tests/sim/test-sim.py \
	tests/sim/test-sink.py \
	tests/sim/schema.json \
	tests/harness/iw.py \
	tests/harness/h2server.py \
	tests/harness/h2-goaway-server.py \
	docs/simulator.md

# Not a test: throughput depends on the machine. Prints requests/s and MB/s.
bench-sim: tests/sim/bench-sim$(EXEEXT) tests/sim/inferwatch-sim$(EXEEXT)
	$(top_builddir)/tests/sim/bench-sim --sim $(top_builddir)/tests/sim/inferwatch-sim$(EXEEXT)
.PHONY: bench-sim
