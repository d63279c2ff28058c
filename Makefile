# fs - small Unix filters for real-time ML feature pipelines.
#
#   make            build every tool into build/bin
#   make demo       set up, build, run a feature pipeline on sample data
#   make test       set up, start services, run unit tests and every bats
#                   suite, then the suites again against an ASan/UBSan build
#   make bench      the benchmarks (scripts/bench-*)
#   make chaos      the long chaos runs (scripts/chaos-long)
#   make install    PREFIX=/usr/local DESTDIR= : binaries and man pages
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
	fs-consume \
	fs-produce \
	fs-join \
	fs-window \
	fs-sink-aerospike \
	fs-get \
	fs-agg \
	fs-gen

# Libraries every tool may link (found with pkg-config); add yours here.
PKGS = jansson libxxhash nettle msgpack zlib libzstd rdkafka libxcrypt simdjson

# Libraries without a pkg-config file.
# -lcsv: fs-backfill (libcsv has no pkg-config file)
EXTRA_LDLIBS = -lm -lcsv -lstdc++

WARN    ?= -Wall -Wextra -Werror -Wstrict-prototypes -Wvla -Wwrite-strings \
	  -Wshadow -Wno-missing-field-initializers -Wno-format-truncation
CSTD    = -std=gnu11
OPT     ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = $(CSTD) $(OPT) $(WARN) -Icommon $(PKG_CFLAGS) $(CFLAGS)
# C++ only for common/recproj.cc, the simdjson user.
ALL_CXXFLAGS = -std=c++17 $(OPT) -Wall -Wextra -Werror -Icommon $(PKG_CFLAGS) $(CXXFLAGS)
ALL_LDFLAGS = -Wl,--as-needed $(LDFLAGS)
ALL_LDLIBS  = $(PKG_LIBS) $(EXTRA_LDLIBS) -lpthread $(LDLIBS)

COMMON_SRCS = $(sort $(wildcard common/*.c))
COMMON_HDRS = $(wildcard common/*.h)
UNIT_SRCS   = $(sort $(wildcard tests/unit/test_*.c))

OBJDIR = $(BUILD)/obj
BINDIR = $(BUILD)/bin
LIBFS  = $(BUILD)/libfs.a
BINS   = $(addprefix $(BINDIR)/,$(TOOLS))
UNITS  = $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
COMMON_OBJS = $(patsubst common/%.c,$(OBJDIR)/common/%.o,$(COMMON_SRCS)) \
	$(patsubst common/%.cc,$(OBJDIR)/common/%.o,$(wildcard common/*.cc))

.PHONY: all asan test unit demo bench chaos install clean fuzz lint print-libs
.SECONDARY:
all: $(BINS)

$(OBJDIR)/%.o: %.c $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OBJDIR)/%.o: %.cc $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

$(LIBFS): $(COMMON_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(OBJDIR)/cmd/%.o $(LIBFS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBFS) $(ALL_LDLIBS)

$(BUILD)/unit/%: $(OBJDIR)/tests/unit/%.o $(LIBFS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBFS) $(ALL_LDLIBS)

# Test fixtures: built with the tools, never installed.
FIXTURES = \
	$(BUILD)/fixtures/asfixture
all: $(FIXTURES)

# --no-as-needed -lcrypt: under ASan, libasan's crypt_r interceptor makes
# --as-needed drop libcrypt, and the interceptor then calls NULL.
$(BUILD)/fixtures/asfixture: tests/aerospike/asfixture.c $(LIBFS) $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBFS) $(ALL_LDLIBS) \
		-Wl,--no-as-needed -lcrypt -Wl,--as-needed

# The parse-only ceiling of scripts/bench-engine.
$(BUILD)/bench/parse_only: tests/bench/parse_only.c $(LIBFS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBFS) $(ALL_LDLIBS)

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
	scripts/bench

chaos: all
	scripts/chaos-long

fuzz:
	scripts/fuzz

lint:
	mandoc -Tlint -Wwarning man/*

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 644 man/*.7 $(DESTDIR)$(PREFIX)/share/man/man7

# For scripts that link outside make (scripts/fuzz).
print-libs:
	@echo $(PKG_LIBS) $(EXTRA_LDLIBS) -lpthread

clean:
	rm -rf $(BUILD)
