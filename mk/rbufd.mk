# mk/rbufd.mk -- rbufd (the memory server) and its protocol fuzzer; see the
# top-level Makefile for RB_CC, RB_CFLAGS, B and SAN.
#
#   make build/bin/rbufd        the daemon (also part of "make")
#   make fuzz [FUZZ_SECONDS=60] build and run the libFuzzer target with
#                               ASan+UBSan in build/fuzz, print executions

RBUFD_SRCS = $(wildcard src/rbufd/*.c)
RBUFD_OBJS = $(patsubst src/%.c,$(B)/obj/%.o,$(RBUFD_SRCS))

$(B)/bin/rbufd: $(RBUFD_OBJS) $(COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_LDFLAGS) -o $@ $^ $(RB_LIBS) -lnuma

rb-all: $(B)/bin/rbufd

# ---------- fuzzing ----------

FUZZ_SECONDS ?= 60
FUZZ_DIR = build/fuzz
FUZZ_CC ?= clang
FUZZ_FLAGS ?=
FUZZ_CFLAGS = -std=c99 -D_GNU_SOURCE -g -O1 -pthread -fno-omit-frame-pointer \
	-Wall -Wextra -Isrc/common -Isrc/rbufd -Itest/fuzz
# The daemon minus main.c/config.c/loop.c: no sockets, no threads.
FUZZ_SRCS = test/fuzz/rbufd_fuzz.c src/rbufd/conn.c src/rbufd/proto.c \
	src/rbufd/store.c src/rbufd/pagelock.c src/rbufd/pool.c src/rbufd/extent.c src/rbufd/server.c \
	src/rbufd/log.c src/common/rb_auth.c
FUZZ_HDRS = $(wildcard src/rbufd/*.h) src/common/rb_protocol.h \
	src/common/rb_auth.h test/fuzz/rbufd_fuzz.h

$(FUZZ_DIR)/rbufd_fuzz: $(FUZZ_SRCS) $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(FUZZ_SRCS) -lcrypto -lnuma

$(FUZZ_DIR)/rbufd_fuzz_seeds: test/fuzz/rbufd_fuzz_seeds.c src/common/rb_auth.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ test/fuzz/rbufd_fuzz_seeds.c \
		src/common/rb_auth.c -lcrypto

$(FUZZ_DIR)/corpus/.stamp: $(FUZZ_DIR)/rbufd_fuzz_seeds
	@mkdir -p $(dir $@)
	$(FUZZ_DIR)/rbufd_fuzz_seeds $(FUZZ_DIR)/corpus
	@touch $@

# New inputs go to corpus-run (kept between runs); crashes to build/fuzz/.
fuzz: $(FUZZ_DIR)/rbufd_fuzz $(FUZZ_DIR)/corpus/.stamp
	@mkdir -p $(FUZZ_DIR)/corpus-run
	@echo "fuzzing rbufd for $(FUZZ_SECONDS) s (log: $(FUZZ_DIR)/fuzz.log)"
	@$(FUZZ_DIR)/rbufd_fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_FLAGS) \
		$(FUZZ_DIR)/corpus-run $(FUZZ_DIR)/corpus > $(FUZZ_DIR)/fuzz.log 2>&1; \
	rc=$$?; \
	grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs|==[0-9]+==|SUMMARY|stat::number_of_executed_units|stat::peak_rss)' \
		$(FUZZ_DIR)/fuzz.log; \
	echo "rbufd fuzz: $$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/fuzz.log) executions, exit status $$rc"; \
	exit $$rc
