# mk/bench.mk -- the PostgreSQL-level benchmarks (bench/README.md); run as root.
#
#   make bench           the lab: memory budget + storage model, configurations
#                        a/b1/b2/c, pgbench workloads (bench/lab.sh, ~12 min)
#   make bench-overhead  extension loaded vs not, data in shared_buffers
#                        (bench/overhead.sh, ~7 min)
#   make bench-instr     the same overhead in instructions, under callgrind
#                        (bench/overhead-instr.sh, ~4 min)
#   make bench-profile   where a remote hit's time goes: timing + perf
#                        (bench/profile-hit.sh, ~2 min)

.PHONY: bench bench-overhead bench-instr bench-profile

BENCH_PREP = test/ensure-deps.sh && $(MAKE) --no-print-directory rb-all all

bench:
	@$(BENCH_PREP) && bench/lab.sh
bench-overhead:
	@$(BENCH_PREP) && bench/overhead.sh
bench-instr:
	@$(BENCH_PREP) && bench/overhead-instr.sh
bench-profile:
	@$(BENCH_PREP) && bench/profile-hit.sh
