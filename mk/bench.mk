# mk/bench.mk -- the PostgreSQL-level benchmarks (bench/README.md); run as root.
#
#   make bench           the lab: memory budget + storage model, configurations
#                        a/b1/b2/c, pgbench workloads (bench/lab.sh, ~13 min)
#   make bench-overhead  extension loaded vs not, data in shared_buffers
#                        (bench/overhead.sh, ~6 min)

.PHONY: bench bench-overhead

bench:
	@test/ensure-deps.sh
	@$(MAKE) --no-print-directory rb-all all
	@bench/lab.sh

bench-overhead:
	@test/ensure-deps.sh
	@$(MAKE) --no-print-directory rb-all all
	@bench/overhead.sh
