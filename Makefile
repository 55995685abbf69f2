# outboxd: `make` builds build/outboxd; `make check` sets up and runs every test; `make demo` shows it relaying.
# SANITIZE=address,undefined builds everything (daemon and tests) with those sanitizers into build/san.

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share/outboxd
SYSCONFDIR ?= /etc
UNITDIR  ?= $(PREFIX)/lib/systemd/system
MANDIR   ?= $(PREFIX)/share/man
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

CC       ?= cc
SANITIZE ?=
FAULT    ?=
FUZZ     ?=
ifneq ($(FUZZ),)
# libFuzzer targets: clang, with ASan+UBSan; see tests/run-fuzz.sh.
BUILD    ?= build/fuzz
CC       := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifneq ($(FAULT),)
# Test-only crash points (include/fault.h); never in a release build.
BUILD    ?= build/fault
SANFLAGS := -DOUTBOXD_FAULT_HOOKS
else ifeq ($(SANITIZE),)
BUILD    ?= build
SANFLAGS :=
else
BUILD    ?= build/san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# Known leaks in libraries we cannot fix (each explained in the file); applies to every sanitized run below.
export LSAN_OPTIONS := suppressions=$(abspath tests/sanitizer.supp)

PKGS     := libpq rdkafka libconfig jansson libsystemd libmicrohttpd
WARN     := -Wall -Wextra -Werror -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -Wshadow -Wpointer-arith
CFLAGS   ?= -O2 -g

# pkg-config is asked when a recipe first needs the answer, never while this file is read: `make demo` installs
# the libraries (setup) after make has read it, and an answer taken before would stay empty for the whole run.
# pkgconf(name, arguments) runs pkg-config once per make and keeps its answer under name.
pkgconf = $(if $(filter undefined,$(origin _pc_$1)),$(eval _pc_$1 := $(shell pkg-config $2 2>/dev/null)))$(_pc_$1)
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) \
	-Iinclude $(call pkgconf,cflags,--cflags $(PKGS))
LDLIBS   = $(call pkgconf,libs,--libs $(PKGS))
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

LIB_SRC  := src/backoff.c src/batch.c src/cli.c src/clock.c src/commands.c src/config.c src/config_print.c src/config_reload.c src/config_scan.c src/delivery.c src/fault.c \
	src/kafka.c src/kafka_defaults.c src/log.c src/message.c src/metrics.c src/owner.c src/pg.c src/pg_admin.c src/pg_buckets.c \
	src/pg_claim.c src/pg_floor.c src/pg_mark.c src/pg_progress.c src/pg_schema.c src/pg_session.c src/relay.c src/schema.c \
	src/service.c src/signals.c src/stats.c
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/sql_files.o
SQL      := $(sort $(wildcard sql/[0-9]*.sql))
# Version 0: not migrations; rendered on their own by `outboxd schema grant`, `schema debezium` and
# `schema partition`. Listed first so the last entry is the latest version.
SQL_ALL  := sql/grant_relay.sql sql/debezium.sql sql/partition.sql $(SQL)

FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# The fuzz targets built with the project's compiler around a replay driver: they run the checked-in corpora
# and regression inputs as ordinary unit tests.
REPLAYS  := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz_%)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c)) $(REPLAYS)
FUZZ_SECONDS ?= 60
TOOLS    := $(BUILD)/tests/checker $(BUILD)/tests/mockbroker $(BUILD)/tests/tcpproxy $(BUILD)/tests/mktopic \
	$(BUILD)/tests/notifysink $(BUILD)/tests/consumer

.PHONY: all clean check check-beside unit integration chaos chaos-short soak setup deps demo bench bench-long install tools fuzz fuzz-build

all: $(BUILD)/outboxd

# A machine without the libraries gets their names and the command that installs them, not a compiler error.
deps:
	@tests/harness/setup.sh --check-build

$(BUILD)/outboxd: $(BUILD)/obj/main.o $(LIB_OBJ)
	@echo "  LD    $@"
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c $(wildcard include/*.h src/*.h) | $(BUILD)/obj deps
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The SQL files become C strings, so `outboxd schema print` needs no installed files.
$(BUILD)/obj/sql_files.c: $(SQL_ALL) Makefile | $(BUILD)/obj
	@{ echo '#include "schema.h"'; echo 'const struct schema_file schema_files[] = {'; \
	  for f in $(SQL_ALL); do \
	    b=$$(basename $$f); v=$$(echo $$b | sed -n 's/^0*\([0-9][0-9]*\)_.*/\1/p'); v=$${v:-0}; \
	    echo "{ $$v, \"$$b\","; sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $$f; echo '},'; \
	  done; echo '};'; echo 'const int schema_n_files = sizeof(schema_files) / sizeof(schema_files[0]);'; } > $@

$(BUILD)/obj/sql_files.o: $(BUILD)/obj/sql_files.c
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# ---------------------------------------------------------------- tests

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJ) | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) $(call pkgconf,cmocka_cflags,--cflags cmocka) $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJ) \
		$(LDLIBS) $(call pkgconf,cmocka_libs,--libs cmocka)

ifneq ($(FUZZ),)
$(BUILD)/tests/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_OBJ) | $(BUILD)/tests
	@echo "  FUZZ  $@"
	@$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)
else
$(BUILD)/tests/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB_OBJ) | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) -DFUZZ_NAME='"$*"' $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB_OBJ) $(LDLIBS)
endif

# The checker shares no code with outboxd: it is the independent witness of what reached Kafka.
# Test tools are built without sanitizers: they are the measuring stick, not the thing measured.
TOOL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -O2 -g -Iinclude \
	$(call pkgconf,tool_cflags,--cflags libpq rdkafka)

$(BUILD)/tests/checker: tests/tools/checker.c | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(TOOL_CFLAGS) -o $@ $< $(call pkgconf,pq_kafka_libs,--libs libpq rdkafka)

$(BUILD)/tests/tcpproxy: tests/tools/tcpproxy.c | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(TOOL_CFLAGS) -o $@ $<

$(BUILD)/tests/notifysink: tests/tools/notifysink.c | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(TOOL_CFLAGS) -o $@ $<

$(BUILD)/tests/mktopic: tests/tools/mktopic.c | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(TOOL_CFLAGS) -o $@ $< $(call pkgconf,kafka_libs,--libs rdkafka)

$(BUILD)/tests/mockbroker: tests/tools/mockbroker.c | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(TOOL_CFLAGS) -o $@ $< $(call pkgconf,kafka_libs,--libs rdkafka)

# The reference consumer (examples/consumer), built with the tools so the integration tests can run it.
$(BUILD)/tests/consumer: examples/consumer/consumer.c | $(BUILD)/tests
	@echo "  CC    $<"
	@$(CC) $(TOOL_CFLAGS) -o $@ $< $(call pkgconf,pq_kafka_libs,--libs libpq rdkafka)

tools: $(TOOLS)

unit: $(UNIT_TESTS)
	@tests/run-unit.sh $(UNIT_TESTS)

integration: $(BUILD)/outboxd $(TOOLS)
	@OUTBOXD=$(abspath $(BUILD)/outboxd) TOOLS=$(abspath $(BUILD)/tests) tests/run-integration.sh

# The fault-injection suite: short form (in check) and long form (make chaos).
chaos-short: all tools
	@$(MAKE) --no-print-directory FAULT=1 all
	@OUTBOXD=$(abspath $(BUILD)/outboxd) FAULT_OUTBOXD=$(abspath build/fault/outboxd) \
		TOOLS=$(abspath $(BUILD)/tests) tests/run-chaos.sh

chaos: setup
	@$(MAKE) --no-print-directory CHAOS_LONG=1 chaos-short

# The soak: the nemesis scenario for 60 minutes at 2,000 events/s, a fault every 2 minutes, one line a minute
# (NEMESIS_SECONDS, NEMESIS_GAP, NEMESIS_RATE in transactions/s change it; SOAK_MODE=keep for relay.on_sent =
# "keep"). The table is kept in build/soak.txt.
SOAK_MODE ?= mark
soak: setup
	@$(MAKE) --no-print-directory all tools
	@$(MAKE) --no-print-directory FAULT=1 all
	@rm -f $(BUILD)/soak.txt
	@CHAOS_MODES=$(SOAK_MODE) NEMESIS_SOAK=1 NEMESIS_REPORT=$(abspath $(BUILD)/soak.txt) OUTBOXD=$(abspath $(BUILD)/outboxd) \
		FAULT_OUTBOXD=$(abspath build/fault/outboxd) TOOLS=$(abspath $(BUILD)/tests) tests/run-chaos.sh nemesis; \
		rc=$$?; cat $(BUILD)/soak.txt 2>/dev/null; exit $$rc

setup:
	@tests/harness/setup.sh

# libFuzzer (clang): each target for FUZZ_SECONDS, from the seed corpus; `make check` runs them briefly.
fuzz-build:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_NAMES:%=build/fuzz/tests/fuzz_%)

fuzz:
	@tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Everything: the layering rules, the normal build's unit and integration tests, then the fault-injection suite
# with the rest beside it (tests/run-beside.sh: each has its own harness, and the fault suite mostly waits on the
# faults it injects, so CI's minutes are those of the fault suite alone): unit and integration under ASan+UBSan,
# valgrind on the unit tests, each fuzz target briefly and, under CI=true, the fresh-root check (make demo and the
# Debian package on bare Debian 12 roots). check-beside runs every step even after one failed.
CHECK_FUZZ_SECONDS ?= 10
check: setup
	@tests/layering.sh
	@$(MAKE) --no-print-directory all tools unit integration
	@$(MAKE) --no-print-directory FAULT=1 all
	@$(MAKE) --no-print-directory SANITIZE=address,undefined all tools
	@tests/run-beside.sh "$(MAKE) --no-print-directory check-beside" $(MAKE) --no-print-directory chaos-short

check-beside:
	@rc=0; \
	$(MAKE) --no-print-directory SANITIZE=address,undefined unit integration || rc=1; \
	tests/run-valgrind.sh $(UNIT_TESTS) || rc=1; \
	tests/run-fuzz.sh $(CHECK_FUZZ_SECONDS) $(FUZZ_NAMES) || rc=1; \
	if [ "$${CI:-}" = true ]; then tests/freshroot.sh || rc=1; \
	else echo "check: the fresh-root check runs under CI=true"; fi; \
	exit $$rc

# Figures, not assertions: see bench/run.sh. BENCH_EVENTS=N to change the backlog size.
$(BUILD)/bench/latency: bench/latency.c | $(BUILD)/obj
	@mkdir -p $(BUILD)/bench
	@echo "  CC    $<"
	@$(CC) $(TOOL_CFLAGS) -pthread -o $@ $< $(call pkgconf,pq_kafka_libs,--libs libpq rdkafka) -pthread

# Kafka alone, with the relay's producer settings (the table it shares with src/kafka.c).
$(BUILD)/bench/kafka_ceiling: bench/kafka_ceiling.c $(BUILD)/obj/kafka_defaults.o | $(BUILD)/obj
	@mkdir -p $(BUILD)/bench
	@echo "  CC    $<"
	@$(CC) $(TOOL_CFLAGS) -o $@ $< $(BUILD)/obj/kafka_defaults.o $(call pkgconf,kafka_libs,--libs rdkafka)

BENCH_TOOLS = $(BUILD)/bench/latency $(BUILD)/bench/kafka_ceiling
BENCH_ENV = OUTBOXD=$(abspath $(BUILD)/outboxd) LATENCY=$(abspath $(BUILD)/bench/latency) \
	KAFKA_CEILING=$(abspath $(BUILD)/bench/kafka_ceiling)

# Set-up first, then a make of its own for the build: see pkgconf above.
bench: setup
	@$(MAKE) --no-print-directory all tools $(BENCH_TOOLS)
	@$(BENCH_ENV) bench/run.sh

# Every workload at 10M events (about 20 GB of tables and an hour or more); the open transactions of workload 4
# are held for up to 10 minutes (BENCH_LONGTX_CAP_S), the time issue 14 asks about.
bench-long: setup
	@$(MAKE) --no-print-directory all tools $(BENCH_TOOLS)
	@BENCH_EVENTS=10000000 BENCH_LONGTX_CAP_S=$${BENCH_LONGTX_CAP_S:-600} $(BENCH_ENV) bench/run.sh

demo:
	@tests/harness/setup.sh demo
	@$(MAKE) --no-print-directory all tools
	@OUTBOXD=$(abspath $(BUILD)/outboxd) tests/demo.sh

# ---------------------------------------------------------------- install

install: $(BUILD)/outboxd
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/sql $(DESTDIR)$(SYSCONFDIR)/outboxd $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BUILD)/outboxd $(DESTDIR)$(BINDIR)/outboxd
	install -m 644 man/outboxd.8 $(DESTDIR)$(MANDIR)/man8/outboxd.8
	install -m 644 man/outboxd.conf.5 $(DESTDIR)$(MANDIR)/man5/outboxd.conf.5
	install -m 644 $(SQL_ALL) $(DESTDIR)$(DATADIR)/sql/
	install -m 644 examples/outboxd.conf $(DESTDIR)$(DATADIR)/outboxd.conf.example
	test -e $(DESTDIR)$(SYSCONFDIR)/outboxd/outboxd.conf || \
		install -m 640 examples/outboxd.conf $(DESTDIR)$(SYSCONFDIR)/outboxd/outboxd.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/outboxd/pgpass || install -m 600 /dev/null $(DESTDIR)$(SYSCONFDIR)/outboxd/pgpass
	systemd/unit.sh $(BINDIR) > $(DESTDIR)$(UNITDIR)/outboxd.service
	systemd/unit.sh $(BINDIR) @ > $(DESTDIR)$(UNITDIR)/outboxd@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/outboxd.service $(DESTDIR)$(UNITDIR)/outboxd@.service
	install -d $(DESTDIR)$(SYSUSERSDIR)
	install -m 644 systemd/outboxd.sysusers $(DESTDIR)$(SYSUSERSDIR)/outboxd.conf
	# On a live system (no DESTDIR): make the user now and let its group read the config.
	if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/outboxd.conf && chgrp outboxd $(SYSCONFDIR)/outboxd/outboxd.conf; fi

clean:
	rm -rf build
