# One non-recursive build; everything it makes goes under build/.
#   make          build flowc (and the libraries)
#   make test     install missing packages, build, run every test
#   make check    the tests again under ASan+UBSan
#   make bench    benchmarks (figures and ratios)
#   make fuzz     libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make run      install, build, start the example bot

BUILD    ?= build
CC       ?= gcc
OPT      ?= -O2
SAN      ?=
CFLAGS   ?= $(OPT) -g
WARN      = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Ivm -Icompiler -Iruntime -I$(BUILD)/gen -MMD -MP
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SAN)
LDLIBS_ALL = -lz -lm

VM_SRC  := $(wildcard vm/*.c)
FC_SRC  := $(filter-out compiler/flowc.c,$(wildcard compiler/*.c))
GEN_SRC := $(BUILD)/gen/flow.tab.c $(BUILD)/gen/flow.lex.c
VM_OBJ  := $(VM_SRC:%.c=$(BUILD)/obj/%.o)
FC_OBJ  := $(FC_SRC:%.c=$(BUILD)/obj/%.o) $(GEN_SRC:$(BUILD)/gen/%.c=$(BUILD)/obj/gen/%.o)
RT_SRC  := $(filter-out runtime/flowd.c,$(wildcard runtime/*.c))
RT_OBJ  := $(RT_SRC:%.c=$(BUILD)/obj/%.o)
RT_LIBS  = -lcivetweb -lsqlite3 -lcjson -lsodium -lGeoIP -lpthread
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test unit conformance check bench fuzz run clean
all: $(BUILD)/flowc $(BUILD)/flowd

deps:
	@scripts/deps.sh

$(BUILD)/gen/flow.tab.c $(BUILD)/gen/flow.tab.h: grammar/flow.y
	@mkdir -p $(dir $@)
	bison -Wall -Werror --defines=$(BUILD)/gen/flow.tab.h -o $(BUILD)/gen/flow.tab.c $<

$(BUILD)/gen/flow.lex.c $(BUILD)/gen/flow.lex.h: grammar/flow.l
	@mkdir -p $(dir $@)
	flex --header-file=$(BUILD)/gen/flow.lex.h -o $(BUILD)/gen/flow.lex.c $<

# Generated code is not ours to keep warning-clean in every respect.
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/gen/flow.tab.h $(BUILD)/gen/flow.lex.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WARN) -Wno-unused-function -Wno-sign-compare -Wno-shadow $(CFLAGS) $(SAN) -c $< -o $@

$(BUILD)/obj/%.o: %.c | $(BUILD)/gen/flow.tab.h $(BUILD)/gen/flow.lex.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libvm.a: $(VM_OBJ)
	@rm -f $@; ar rcs $@ $^

$(BUILD)/libfc.a: $(FC_OBJ)
	@rm -f $@; ar rcs $@ $^

$(BUILD)/flowc: $(BUILD)/obj/compiler/flowc.o $(BUILD)/libfc.a $(BUILD)/libvm.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/librt.a: $(RT_OBJ)
	@rm -f $@; ar rcs $@ $^

$(BUILD)/flowd: $(BUILD)/obj/runtime/flowd.o $(BUILD)/librt.a $(BUILD)/libfc.a $(BUILD)/libvm.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(RT_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libfc.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $^ -lcmocka $(LDLIBS_ALL)
# Unit tests of flowd's modules (tests/unit/test_rt_*.c) link the runtime too.
$(BUILD)/tests/test_rt_%: tests/unit/test_rt_%.c $(BUILD)/librt.a $(BUILD)/libfc.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $^ -lcmocka $(RT_LIBS) $(LDLIBS_ALL)

# ---- tests -------------------------------------------------------------
SHARED ?= ../shared

test: deps
	@$(MAKE) --no-print-directory all-tests

all-tests: $(BUILD)/flowc $(BUILD)/flowd $(UNIT_BIN)
	@tests/run_all.sh $(BUILD) $(SHARED)

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

check: deps
	@$(MAKE) --no-print-directory BUILD=build/asan CC=clang OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" all-tests

# ---- fuzzing and benchmarks ------------------------------------------
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_BUILD = build/fuzz

fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzz-targets
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Targets land in $(BUILD)/fuzz/; the flowc beside them (same sanitizers)
# compiles the seed corpora of tests/fuzz/run.sh.
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz-targets: $(FUZZ_TARGETS) $(BUILD)/flowc
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libfc.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(WARN) $(CFLAGS) $(FUZZ_FLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS_ALL)
# flowd's API validators (tests/fuzz/fuzz_rt_*.c) link the runtime too.
$(BUILD)/fuzz/fuzz_rt_%: tests/fuzz/fuzz_rt_%.c $(BUILD)/librt.a $(BUILD)/libfc.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(WARN) $(CFLAGS) $(FUZZ_FLAGS) -o $@ $(filter %.c %.a,$^) $(RT_LIBS) $(LDLIBS_ALL)
-include $(wildcard $(BUILD)/fuzz/*.d)

bench: deps
	@$(MAKE) --no-print-directory BUILD=build/bench OPT="-O2 -DNDEBUG" bench-targets
	@tests/bench/run.sh build/bench

bench-targets: $(BUILD)/flowc $(patsubst tests/bench/%.c,$(BUILD)/bench-bin/%,$(wildcard tests/bench/bench_*.c))
$(BUILD)/bench-bin/%: tests/bench/%.c $(BUILD)/libfc.a $(BUILD)/libvm.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS_ALL)
# The server benchmarks (tests/bench/server.sh): flowd, the bare civetweb
# echo server and the epoll load client, linked apart from libfc/libvm.
bench-targets: $(BUILD)/flowd $(BUILD)/bench-bin/echo_server $(BUILD)/bench-bin/ws_load
$(BUILD)/bench-bin/echo_server: tests/bench/echo_server.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< -lcivetweb -lpthread
$(BUILD)/bench-bin/ws_load: tests/bench/ws_load.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $<

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
