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

# The crash matrix's client (test/t/005_crash_matrix.pl): libpq, found
# through pg_config like the extension.
RB_PQ_INCDIR := $(shell $(PG_CONFIG) --includedir 2>/dev/null)
RB_PQ_LIBDIR := $(shell $(PG_CONFIG) --libdir 2>/dev/null)

$(B)/obj/test/crash/%.o: test/crash/%.c
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_CFLAGS) -I$(RB_PQ_INCDIR) -MMD -MP -c $< -o $@

$(B)/bin/rb_commit_logger: $(B)/obj/test/crash/rb_commit_logger.o
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $^ -L$(RB_PQ_LIBDIR) -lpq


$(B)/obj/test/rdma/%.o: test/rdma/%.c
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_CFLAGS) -Itest/lib -MMD -MP -c $< -o $@

# Runs inside the Soft-RoCE guest (test/rdma/run-client-test.sh).
$(B)/bin/rdma_client_test: $(B)/obj/test/rdma/rdma_client_test.o $(TESTLIB_OBJS) $(RBCLIENT_LIB)
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $^ $(RB_LIBS)

rb-all: $(B)/bin/test_rbufd $(B)/bin/rb_commit_logger $(B)/bin/rdma_client_test

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

# The RDMA test guest (docs/rdma-guest.md) on its own: TAP, ~1.5-2 minutes.
.PHONY: rdma-guest-smoke
rdma-guest-smoke:
	@test/ensure-deps.sh
	@test/rdma/smoke.sh
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
