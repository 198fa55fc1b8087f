# mk/client.mk -- client library, rbufctl, micro-benchmark and hammer
#
# Included by the top-level Makefile (B, RB_CC, RB_CFLAGS, RB_LDFLAGS,
# RB_LIBS, COMMON_OBJS come from there).  The generic object rule covers
# src/ only, so bench/ and test/hammer/ get their own.

RBCLIENT_OBJS = $(B)/obj/client/rb_transport.o $(B)/obj/client/rb_client.o \
	$(B)/obj/client/rb_transport_rdma.o $(B)/obj/client/rb_rdma_qp.o
RBCLIENT_LIB = $(B)/lib/librbclient.a

$(RBCLIENT_LIB): $(COMMON_OBJS) $(RBCLIENT_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(B)/obj/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/test/hammer/%.o: test/hammer/%.c
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_CFLAGS) -MMD -MP -c $< -o $@

$(B)/bin/rbufctl: $(B)/obj/tools/rbufctl.o $(RBCLIENT_LIB)
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $< $(RBCLIENT_LIB) $(RB_LIBS)

$(B)/bin/rbuf_bench: $(B)/obj/bench/rbuf_bench.o $(RBCLIENT_LIB)
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $< $(RBCLIENT_LIB) $(RB_LIBS)

HAMMER_OBJS = $(B)/obj/test/hammer/rbuf_hammer.o $(B)/obj/test/hammer/hammer_bad.o

$(B)/bin/rbuf_hammer: $(HAMMER_OBJS) $(RBCLIENT_LIB)
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $(HAMMER_OBJS) $(RBCLIENT_LIB) $(RB_LIBS)

$(B)/bin/rbuf_contend: $(B)/obj/test/hammer/rbuf_contend.o $(RBCLIENT_LIB)
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $< $(RBCLIENT_LIB) $(RB_LIBS)

rb-all: $(RBCLIENT_LIB) $(B)/bin/rbufctl $(B)/bin/rbuf_bench \
	$(B)/bin/rbuf_hammer $(B)/bin/rbuf_contend

# Page read/write micro-benchmark against a private rbufd on loopback.
bench-micro: $(B)/bin/rbufd $(B)/bin/rbuf_bench
	RBUFD=$(B)/bin/rbufd RBUF_BENCH=$(B)/bin/rbuf_bench bench/micro.sh
