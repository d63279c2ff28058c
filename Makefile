# fs - small Unix filters for real-time ML feature pipelines.
#
#   make            build every tool into build/bin
#   make demo       set up, build, run a feature pipeline on sample data
#   make test       set up, start services, run unit tests and every bats
#                   suite, then the suites again against an ASan/UBSan build
#   make bench      the benchmarks (scripts/bench-*) and their table;
#                   make bench QUICK=1: small inputs, minutes
#   make chaos      the long chaos runs (scripts/chaos-long)
#   make install    PREFIX=/usr/local DESTDIR= : tools, man pages and bash
#                   completion; make uninstall removes exactly those
#   make asan       the sanitizer build in build/asan/bin
#   make fuzz       libFuzzer targets (clang) in build/fuzz

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      = gcc
CXX     = g++

# The tools, one per line.
TOOLS = \
	fs-backfill \
	fs-ckpt \
	fs-run \
	fs-scale \
	fs-consume \
	fs-produce \
	fs-join \
	fs-window \
	fs-sink-aerospike \
	fs-sink-file \
	fs-get \
	fs-lookup \
	fs-features \
	fs-agg \
	fs-select \
	fs-gen

# Tools written as shell scripts: scripts/NAME installed as fs-NAME.
SCRIPT_TOOLS = \
	fs-training-set

# Libraries every tool may link (found with pkg-config); add yours here.
PKGS = jansson libxxhash nettle msgpack zlib libzstd rdkafka libxcrypt simdjson \
	libmicrohttpd avro-c libcurl protobuf

# Libraries without a pkg-config file.
# -lcsv: fs-backfill (libcsv has no pkg-config file)
# -lprotoc: the .proto parser beside libprotobuf (libprotoc-dev, no .pc)
EXTRA_LDLIBS = -lm -lcsv -lprotoc -lstdc++

WARN    ?= -Wall -Wextra -Werror -Wstrict-prototypes -Wvla -Wwrite-strings \
	  -Wshadow -Wno-missing-field-initializers -Wno-format-truncation
CSTD    = -std=gnu11
OPT     ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = $(CSTD) $(OPT) $(WARN) -Icommon $(PKG_CFLAGS) $(CFLAGS)
# C++ only for the users of C++ libraries: common/recproj.cc (simdjson)
# and common/schema/proto_schema.cc (libprotobuf).
ALL_CXXFLAGS = -std=c++17 $(OPT) -Wall -Wextra -Werror -Icommon $(PKG_CFLAGS) $(CXXFLAGS)
ALL_LDFLAGS = -Wl,--as-needed $(LDFLAGS)
ALL_LDLIBS  = $(PKG_LIBS) $(EXTRA_LDLIBS) -lpthread $(LDLIBS)

# common/ holds the core every tool uses (records, lines, output, paths,
# time, diagnostics, rejection, options, checkpoints, stages), built as
# libfs.a.  Each folder below it is a library of its own, built as
# libfs-NAME.a, whose interface is common/NAME/NAME.h.  A library
# listed later may be used by one listed earlier, never the reverse.
SUBLIBS     = features agg join window aerospike kafka filesink backfill schema \
	select
COMMON_SRCS = $(sort $(wildcard common/*.c))
COMMON_HDRS = $(wildcard common/*.h common/*/*.h)
UNIT_SRCS   = $(sort $(wildcard tests/unit/test_*.c))

OBJDIR = $(BUILD)/obj
BINDIR = $(BUILD)/bin
LIBFS  = $(BUILD)/libfs.a
BINS   = $(addprefix $(BINDIR)/,$(TOOLS))
SCRIPT_BINS = $(addprefix $(BINDIR)/,$(SCRIPT_TOOLS))
COMPLETION  = $(BUILD)/completion/fs
UNITS  = $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
COMMON_OBJS = $(patsubst common/%.c,$(OBJDIR)/common/%.o,$(COMMON_SRCS)) \
	$(patsubst common/%.cc,$(OBJDIR)/common/%.o,$(wildcard common/*.cc))
SUBLIB_AS   = $(foreach l,$(SUBLIBS),$(BUILD)/libfs-$(l).a)
# What a program links: the libraries, then the core they all use.
LIBS_ALL    = $(SUBLIB_AS) $(LIBFS)

.PHONY: all asan test unit demo bench chaos install uninstall clean fuzz lint print-libs print-archives
.SECONDARY:
all: $(BINS) $(SCRIPT_BINS) $(COMPLETION)

$(OBJDIR)/%.o: %.c $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OBJDIR)/%.o: %.cc $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

$(LIBFS): $(COMMON_OBJS)
	@rm -f $@
	ar rcs $@ $^

# One static library for each folder of common/.
define sublib
$$(BUILD)/libfs-$(1).a: $$(patsubst common/%.c,$$(OBJDIR)/common/%.o,$$(sort $$(wildcard common/$(1)/*.c))) \
	$$(patsubst common/%.cc,$$(OBJDIR)/common/%.o,$$(sort $$(wildcard common/$(1)/*.cc)))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach l,$(SUBLIBS),$(eval $(call sublib,$(l))))

$(BINDIR)/%: $(OBJDIR)/cmd/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS_ALL) $(ALL_LDLIBS)

$(BINDIR)/fs-%: scripts/%
	@mkdir -p $(dir $@)
	install -m 755 $< $@

# Bash completion, from each tool's --help (scripts/gen-completion).
$(COMPLETION): scripts/gen-completion $(BINS) $(SCRIPT_BINS)
	@mkdir -p $(dir $@)
	scripts/gen-completion $(BINS) $(SCRIPT_BINS) > $@.tmp
	mv $@.tmp $@

$(BUILD)/unit/%: $(OBJDIR)/tests/unit/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBS_ALL) $(ALL_LDLIBS)

# Test fixtures: built with the tools, never installed.
FIXTURES = \
	$(BUILD)/fixtures/asfixture
all: $(FIXTURES)

# --no-as-needed -lcrypt: under ASan, libasan's crypt_r interceptor makes
# --as-needed drop libcrypt, and the interceptor then calls NULL.
$(BUILD)/fixtures/asfixture: tests/aerospike/asfixture.c $(LIBS_ALL) $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS_ALL) $(ALL_LDLIBS) \
		-Wl,--no-as-needed -lcrypt -Wl,--as-needed

# The parse-only ceiling of scripts/bench-engine.
$(BUILD)/bench/parse_only: tests/bench/parse_only.c $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS_ALL) $(ALL_LDLIBS)

# The sanitizer build: the same tree, built again under build/asan.
asan:
	$(MAKE) BUILD=$(BUILD)/asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" all $(if $(ASAN_UNIT),unit)

unit: $(UNITS)
	@set -e; for t in $(UNITS); do echo "# $$t"; $$t; done

test:
	scripts/test

demo:
	scripts/bootstrap
	$(MAKE) all
	scripts/demo

bench: all
	FS_BENCH_QUICK=$(QUICK) scripts/bench

chaos: all
	scripts/chaos-long

fuzz:
	scripts/fuzz

# Every man page is mdoc and lints clean at mandoc's default level; a
# reference to another page of this tree is found only once it is
# installed, so scripts/man-lint accepts exactly those.
lint:
	scripts/man-lint man/*.[157]

MANS1 = $(notdir $(wildcard man/*.1))
MANS5 = $(notdir $(wildcard man/*.5))
MANS7 = $(notdir $(wildcard man/*.7))
COMPDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
		$(COMPDIR)
	install -m 755 $(BINS) $(SCRIPT_BINS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(addprefix man/,$(MANS1)) $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(addprefix man/,$(MANS5)) $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 644 $(addprefix man/,$(MANS7)) $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 644 $(COMPLETION) $(COMPDIR)/fs
	for t in $(TOOLS) $(SCRIPT_TOOLS); do ln -sf fs $(COMPDIR)/$$t; done

# Removes what install installed, by name, and nothing else; directories
# are left (they may hold other software's files).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(TOOLS) $(SCRIPT_TOOLS))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man1/,$(MANS1))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man5/,$(MANS5))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man7/,$(MANS7))
	rm -f $(COMPDIR)/fs $(addprefix $(COMPDIR)/,$(TOOLS) $(SCRIPT_TOOLS))

# For scripts that link outside make (scripts/fuzz).
print-libs:
	@echo $(PKG_LIBS) $(EXTRA_LDLIBS) -lpthread
print-archives:
	@echo $(LIBS_ALL)

clean:
	rm -rf $(BUILD)
