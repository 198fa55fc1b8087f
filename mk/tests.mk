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

$(B)/obj/test/rdma/%.o: test/rdma/%.c
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_CFLAGS) -Itest/lib -MMD -MP -c $< -o $@

# Runs inside the Soft-RoCE guest (test/rdma/run-client-test.sh).
$(B)/bin/rdma_client_test: $(B)/obj/test/rdma/rdma_client_test.o $(TESTLIB_OBJS) $(RBCLIENT_LIB)
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $^ $(RB_LIBS)

rb-all: $(B)/bin/test_rbufd $(B)/bin/rdma_client_test

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
