# mk/tests.mk -- test programs and `make test` (see test/run-all.sh)
#
# `make test` first makes sure the Debian packages are there
# (test/ensure-deps.sh), then builds the plain, ASan+UBSan and TSan
# flavours and runs every suite; the last line is "N passed, N failed".

TESTLIB_OBJS = $(B)/obj/test/lib/rbtest.o

$(B)/obj/test/lib/%.o: test/lib/%.c
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_CFLAGS) -Itest/lib -MMD -MP -c $< -o $@

$(B)/obj/test/rbufd/%.o: test/rbufd/%.c
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_CFLAGS) -Itest/lib -MMD -MP -c $< -o $@

$(B)/bin/test_rbufd: $(B)/obj/test/rbufd/test_rbufd.o $(TESTLIB_OBJS) $(RBCLIENT_LIB)
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $^ $(RB_LIBS)

rb-all: $(B)/bin/test_rbufd

.PHONY: test-build test-run
test-build:
	$(MAKE) --no-print-directory rb-all
	$(MAKE) --no-print-directory B=build/asan SAN=asan rb-all
	$(MAKE) --no-print-directory B=build/tsan SAN=tsan build/tsan/bin/rbufd build/tsan/bin/rbuf_hammer build/tsan/bin/rbuf_contend

test:
	@test/ensure-deps.sh
	@$(MAKE) --no-print-directory test-build
	@test/run-all.sh

check: test

# Fault injection (test/faults/, root: network namespaces).  `make faults`
# runs the scenario suite (a few minutes); `make soak` runs pgbench for
# SOAK_SECONDS with random faults and reports; not part of `make test`.
SOAK_SECONDS ?= 1800
SOAK_SEED ?=
SOAK_ROUND ?= 120
.PHONY: faults soak
faults: rb-all
	@test/faults/run.sh
soak: rb-all
	@SOAK_SECONDS=$(SOAK_SECONDS) SOAK_SEED=$(SOAK_SEED) SOAK_ROUND=$(SOAK_ROUND) test/faults/soak.sh
