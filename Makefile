# remote_buffer -- top-level Makefile
#
#   make            build rbufd, rbufctl, the client library (build/) and
#                   the extension (PGXS)
#   make demo       the main job on the embedded default: a local rbufd + a
#                   throwaway cluster under a pgbench load (demo/run.sh)
#   make test       install missing Debian packages (as root), then run
#                   every test suite; ends with "N passed, N failed"
#   make fuzz       run the rbufd protocol fuzzer (FUZZ_SECONDS, default 60)
#   make bench-micro  rbufd page read/write micro-benchmark (bench/)
#   make bench        PostgreSQL-level lab; bench-overhead, bench-instr,
#                     bench-profile (mk/bench.mk)
#
# Daemon, client and test objects are built by plain rules (mk/*.mk) into
# $(B); sanitizer flavours are the same rules with B=build/asan SAN=asan or
# B=build/tsan SAN=tsan.  The PostgreSQL extension (PGXS) joins here.

B ?= build
SAN ?=

RB_CC ?= gcc
RB_OPT ?= -O2
RB_WARN = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wpointer-arith \
	-Werror=implicit-function-declaration -Werror=vla
RB_CFLAGS = -std=c99 -D_GNU_SOURCE -g $(RB_OPT) $(RB_WARN) -pthread \
	-fno-strict-aliasing -Isrc/common -Isrc/client $(RB_SAN_FLAGS)
RB_LDFLAGS = -pthread $(RB_SAN_FLAGS)
RB_LIBS = -lcrypto -lrdmacm -libverbs

ifeq ($(SAN),asan)
RB_SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
RB_OPT = -O1
endif
ifeq ($(SAN),tsan)
RB_SAN_FLAGS = -fsanitize=thread -fno-omit-frame-pointer
RB_OPT = -O1
endif

.PHONY: all rb-all test check fuzz bench-micro clean rb-clean deps demo
.DEFAULT_GOAL := all

all: rb-all

# Objects: src/<dir>/<name>.c -> $(B)/obj/<dir>/<name>.o
$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(RB_CC) $(RB_CFLAGS) -MMD -MP -c $< -o $@

COMMON_OBJS = $(B)/obj/common/rb_auth.o

# PGXS (the extension); it defines all/install/clean/check/installcheck
# with recipes, so below we only ever add prerequisites to those.
include mk/extension.mk
include mk/client.mk
include mk/rbufd.mk
include mk/tests.mk
include mk/bench.mk

deps:
	@test/ensure-deps.sh

demo:
	@test/ensure-deps.sh
	@$(MAKE) --no-print-directory rb-all
	@demo/run.sh

clean: rb-clean
rb-clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
