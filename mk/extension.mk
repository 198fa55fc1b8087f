# mk/extension.mk -- the remote_buffer PostgreSQL extension, built by PGXS
#
# Included by the top-level Makefile; also usable on its own:
#   make -f mk/extension.mk [install] [PG_CONFIG=/path/to/pg_config]
#
# PGXS brings its own all/install/clean/check/installcheck targets.  The
# top-level Makefile only adds prerequisites to those (never recipes), so
# the two coexist without "overriding recipe" warnings.

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

# PGXS takes srcdir from the directory of the first makefile read.  When
# this file is used on its own that would be mk/, so point VPATH (and with
# it srcdir) at the repository root.
ifeq ($(words $(MAKEFILE_LIST)),1)
VPATH := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
endif

ifneq ($(and $(PGXS),$(wildcard $(PGXS))),)

MODULE_big = remote_buffer
OBJS = src/remote_buffer.o src/intercept.o src/guc.o src/shmem.o \
	src/lease_worker.o src/views.o src/invalidate.o \
	src/directory.o src/datapath.o src/stats.o \
	src/client/rb_client.o src/client/rb_transport.o \
	src/client/rb_transport_rdma.o src/client/rb_rdma_qp.o src/common/rb_auth.o
EXTENSION = remote_buffer
DATA = $(wildcard sql/remote_buffer--*.sql)
PGFILEDESC = "remote_buffer - remote shared buffer pool"

# The rbufd client library is compiled into the module (with PostgreSQL's
# compiler flags; the top-level Makefile builds its own copies in build/).
PG_CPPFLAGS += -I$(srcdir)/src/common -I$(srcdir)/src/client
SHLIB_LINK += -lcrypto -lrdmacm -libverbs

# pg_regress tests: sql/<test>.sql, expected/<test>.out.  They need a
# temporary instance with the library preloaded and a live rbufd peer
# (RB_REGRESS_NO_PRELOAD: one without preloading), which
# test/pg_regress/run.sh sets up; so "make installcheck" runs that script
# instead of PGXS's plain pg_regress call.  docs/testing.md has the details.
REGRESS = install views gucs workload
RB_REGRESS_NO_PRELOAD = no_preload
NO_INSTALLCHECK = 1

include $(PGXS)

.PHONY: installcheck rb-regress-lists
installcheck:
	$(srcdir)/test/pg_regress/run.sh

# read by test/pg_regress/run.sh
rb-regress-lists:
	@echo "preload: $(REGRESS)"
	@echo "no_preload: $(RB_REGRESS_NO_PRELOAD)"

# Debian's PGXS is built without --enable-depend, so header changes would
# not trigger rebuilds: spell our header dependencies out.
RB_EXT_HEADERS = src/compat.h src/intercept.h src/guc.h src/shmem.h \
	src/invalidate.h src/directory.h src/datapath.h src/stats.h \
	src/lease_worker.h src/client/rb_client.h src/client/rb_client_int.h \
	src/common/rb_protocol.h src/common/rb_auth.h
$(OBJS) $(OBJS:.o=.bc): $(RB_EXT_HEADERS)

else

# No PostgreSQL server development files: fail every target that needs
# them with an actionable message instead of a cryptic include error.
.PHONY: all install rb-pgxs-missing
all install: rb-pgxs-missing
rb-pgxs-missing:
	@echo "error: PGXS not found ('$(PG_CONFIG) --pgxs' gave nothing usable)." >&2
	@echo "       The remote_buffer extension needs the PostgreSQL 15 server headers:" >&2
	@echo "       run 'make deps' (as root), or 'apt-get install postgresql-server-dev-15'," >&2
	@echo "       or pass PG_CONFIG=/path/to/pg_config." >&2
	@exit 1

# still remove what an earlier build with PGXS left behind
.PHONY: rb-ext-clean
clean: rb-ext-clean
rb-ext-clean:
	rm -f remote_buffer.so src/*.o src/*.bc src/client/*.o src/client/*.bc \
		src/common/*.o src/common/*.bc

endif
