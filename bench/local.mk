# `make bench`: the benchmarks of docs/benchmarks.md (B1 cost per poll, B2 scale, B3 detection
# latency, B4 webhook throughput). Not part of `make check`: figures depend on the machine.
# Writes bench/results/*.csv and docs/benchmarks.md in the source tree; about 10 minutes on
# 2 cores. `make bench BENCH_ARGS=--quick` checks the drivers in a few minutes.
BENCH_FILES = \
	bench/run.py \
	bench/benchlib.py \
	bench/report.py \
	bench/b1_poll_cost.py \
	bench/steady.py \
	bench/b2_scale.py \
	bench/b3_latency.py \
	bench/b4_webhooks.py \
	bench/b5_ha.py \
	bench/b5_metrics.py \
	bench/b6_plan.py \
	bench/b7_h2.py \
	bench/peers/poll-curl-jq.sh \
	bench/peers/poll-urllib.py \
	bench/notes.md
EXTRA_DIST += $(BENCH_FILES) bench/results docs/benchmarks.md

bench: daemon/inferwatchd$(EXEEXT) tests/sim/inferwatch-sim$(EXEEXT) tests/sim/inferwatch-sink$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(PYTHON3) $(srcdir)/bench/run.py $(BENCH_ARGS)
.PHONY: bench
