# rpcsync -- build, test, demo and install.
#
# Everything is built out of tree in $(B) (default build/); the sanitizer
# build of the test suite uses build-asan/.  rpcgen outputs (sync.h,
# sync_xdr.c) are generated into $(B)/gen and never committed.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
MANDIR     ?= $(PREFIX)/share/man
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
# Debian keeps units in /lib/systemd/system; elsewhere beside the prefix.
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
INSTALL    ?= install
RPCGEN     ?= rpcgen
CFLAGS     ?= -O2 -g
B          ?= build

TIRPC_CFLAGS := $(shell pkg-config --cflags libtirpc 2>/dev/null || echo -I/usr/include/tirpc)
TIRPC_LIBS   := $(shell pkg-config --libs libtirpc 2>/dev/null || echo -ltirpc)

ALL_CFLAGS   = -std=c11 -Wall -Wextra -Werror $(CFLAGS)
ALL_CPPFLAGS = -D_GNU_SOURCE -I$(B)/gen -Icommon $(TIRPC_CFLAGS) $(CPPFLAGS)
LIBS         = $(TIRPC_LIBS) -lxxhash -lzstd -lcrypto -lpthread

SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

GEN_OBJ    = $(B)/obj/gen/sync_xdr.o
COMMON_OBJ = $(call obj,$(wildcard common/*.c)) $(GEN_OBJ)
SERVER_OBJ = $(call obj,$(filter-out server/main.c,$(wildcard server/*.c)))
CLIENT_OBJ = $(call obj,$(filter-out client/main.c,$(wildcard client/*.c)))

UNIT_TESTS = $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/*.c))
TEST_TOOLS = $(patsubst tests/tools/%.c,$(B)/tests/%,$(wildcard tests/tools/*.c))

# libFuzzer harnesses (fuzz/), built with clang in build-fuzz.
FUZZERS    = $(B)/fuzz/fuzz_xdr $(B)/fuzz/fuzz_server $(B)/fuzz/fuzz_sequence
FUZZ_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
             -fno-sanitize-recover=all

# Packages the build, the tests and the demo need on Debian 12.
DEPS = gcc make libc6-dev libtirpc-dev rpcsvc-proto rpcbind pkgconf \
       iproute2 util-linux mount e2fsprogs procps libxxhash-dev libzstd-dev \
       libssl-dev clang libclang-rt-14-dev fiu-utils libfiu-dev

.PHONY: all tests check check-package demo deps package install uninstall clean fuzz fuzz-build fuzzers fuzz-seeds
# Objects are kept even where make would see them as intermediate (the
# test tools' are), so a second `make tests` has nothing to redo.
.SECONDARY:

all: $(B)/syncd $(B)/syncctl

tests: all $(UNIT_TESTS) $(TEST_TOOLS) $(B)/tests/syncd-fiu

$(B)/syncd: $(call obj,server/main.c) $(SERVER_OBJ) $(COMMON_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/syncctl: $(call obj,client/main.c) $(CLIENT_OBJ) $(COMMON_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# Unit tests link against the side their name starts with.
$(B)/tests/common_%: $(call obj,tests/unit/common_%.c) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/tests/server_%: $(call obj,tests/unit/server_%.c) $(SERVER_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/tests/client_%: $(call obj,tests/unit/client_%.c) $(CLIENT_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)
# Test tools speak the protocol directly, with no client-side path cleaning.
$(B)/tests/%: $(call obj,tests/tools/%.c) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# syncd for tests/integration/t_88_fiu.sh: libfiu's fault points compiled
# in (FIU_ENABLE; staging.c has the only one) and its remote control
# started by tests/fiu/fiu_control.c, so fiu-ctrl can fail syncfs() on demand.
FIU_SERVER_OBJ = $(filter-out $(B)/obj/server/staging.o,$(SERVER_OBJ)) \
                 $(B)/obj/fiu/server/staging.o $(B)/obj/fiu/tests/fiu/fiu_control.o
$(B)/tests/syncd-fiu: $(call obj,server/main.c) $(FIU_SERVER_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lfiu
$(B)/obj/fiu/%.o: %.c $(B)/gen/sync.h
	@mkdir -p $(@D)
	$(CC) -DFIU_ENABLE $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# Fuzz harnesses: the decoders alone, or syncd's code with a shared stage.
$(B)/fuzz/fuzz_xdr: $(call obj,fuzz/fuzz_xdr.c) $(GEN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/fuzz/fuzz_%: $(call obj,fuzz/fuzz_%.c fuzz/fuzzlib.c) $(SERVER_OBJ) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/fuzz/mkseeds: $(call obj,fuzz/mkseeds.c) $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

fuzzers: $(FUZZERS) $(B)/fuzz/mkseeds

$(B)/gen/sync.h: sync.x
	@mkdir -p $(@D)
	rm -f $@ && $(RPCGEN) -h -o $@ sync.x

$(B)/gen/sync_xdr.c: sync.x $(B)/gen/sync.h
	rm -f $@ && $(RPCGEN) -c -o $@ sync.x

# rpcgen's code declares variables it does not use.
$(GEN_OBJ): $(B)/gen/sync_xdr.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-unused-variable -c -o $@ $<

$(B)/obj/%.o: %.c $(B)/gen/sync.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# $(call apt_missing,PACKAGES): a recipe that apt-installs those of
# PACKAGES that are not installed yet (root; nothing to do when all are).
define apt_missing
@missing=; for p in $(1); do \
	dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
		|| missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
	echo "make $@: installing$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
fi
endef

# Installs the build, test and run dependencies that are missing.
deps:
	$(call apt_missing,$(DEPS))

# What `make package` needs besides DEPS: the Debian build tools; and what
# check-package needs to install the packages offline (systemd: their postinst
# runs systemd-sysusers and systemd-tmpfiles) and inspect them (systemd-analyze,
# man).
PKG_DEPS = build-essential debhelper devscripts dpkg-dev fakeroot lintian systemd man-db

# The Debian packages (debian/), built from a copy of the tracked files in
# $(B)/pkg/rpcsync (dpkg-buildpackage writes beside its source tree), into
# $(B)/pkg/*.deb; then lintian's verdict on them: any tag fails.
package:
	$(call apt_missing,$(DEPS) $(PKG_DEPS))
	rm -rf $(B)/pkg && mkdir -p $(B)/pkg/rpcsync
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(B)/pkg/rpcsync
	+cd $(B)/pkg/rpcsync && dpkg-buildpackage -us -uc -b
	lintian -EvIL +pedantic --fail-on error,warning,info,pedantic,experimental $(B)/pkg/*.changes

# The packages installed on this machine, run as the unit would run syncd,
# then purged (tests/package/t_package.sh, through the runner: one summary line).
# One step at a time: each may apt-get, and the build needs DEPS installed.
check-package: deps
	$(MAKE) package
	$(MAKE) tests
	tests/run $(B)/pkg

# The whole suite, once normally and once under ASan+UBSan, each fuzz
# harness for FUZZ_SECONDS (20) from its committed corpus, and the packages
# (check-package's test); one summary line.
check: deps
	$(MAKE) tests
	$(MAKE) B=build-asan CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" tests
	$(MAKE) fuzz-build
	$(MAKE) package
	tests/run $(B) build-asan build-fuzz $(B)/pkg

# The harnesses, longer: make fuzz FUZZ_SECONDS=3600.
FUZZ_SECONDS ?= 300
fuzz: deps fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run build-fuzz

fuzz-build:
	$(MAKE) B=build-fuzz CC=clang CFLAGS="$(FUZZ_FLAGS)" \
		LDFLAGS="-fsanitize=address,undefined" fuzzers

# Rewrites the committed seeds (after a change to sync.x): commit fuzz/corpus.
fuzz-seeds: fuzz-build
	build-fuzz/fuzz/mkseeds fuzz/corpus

demo: deps all
	scripts/demo.sh $(B)

# Benchmark against rsync and cp (bench/run.sh; writes bench/RESULTS.md).
# BENCH_RUNS=N timed runs per tool (3), BENCH_SCENARIOS="S1 S3" a subset.
BENCH_DEPS = rsync time
BENCH_TOOLS = $(B)/bench/gencorpus $(B)/bench/relay

.PHONY: bench bench-deps

bench: deps bench-deps all $(BENCH_TOOLS)
	bench/run.sh $(B)

bench-deps:
	$(call apt_missing,$(BENCH_DEPS))

$(B)/bench/gencorpus: bench/gencorpus.c
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< -lm

$(B)/bench/relay: bench/relay.c
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

# The layout the Debian package ships (debian/ builds with PREFIX=/usr
# SYSCONFDIR=/etc).  An existing syncd.conf is never overwritten.
MANPAGES = docs/man/syncctl.1 docs/man/syncd.conf.5 docs/man/syncd.8

install: all
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(addprefix $(DESTDIR)$(MANDIR)/man,1 5 8)
	$(INSTALL) -m 0755 $(B)/syncd $(DESTDIR)$(SBINDIR)/syncd
	$(INSTALL) -m 0755 $(B)/syncctl $(DESTDIR)$(BINDIR)/syncctl
	for m in $(MANPAGES); do \
		$(INSTALL) -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; \
	done
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/syncd.service.in > $(DESTDIR)$(UNITDIR)/syncd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/syncd.service
	$(INSTALL) -m 0644 dist/syncd.sysusers $(DESTDIR)$(SYSUSERSDIR)/syncd.conf
	$(INSTALL) -m 0644 dist/syncd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/syncd.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/syncd.conf ] || \
		$(INSTALL) -m 0644 dist/syncd.conf $(DESTDIR)$(SYSCONFDIR)/syncd.conf
	@# Into the live system (no DESTDIR), as root: the user and the state
	@# directory now, as the package's postinst makes them.
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		if command -v systemd-sysusers >/dev/null; then \
			systemd-sysusers $(SYSUSERSDIR)/syncd.conf && \
			systemd-tmpfiles --create $(TMPFILESDIR)/syncd.conf; \
		else \
			echo "make install: no systemd-sysusers here: create the user _syncd" \
			     "and /var/lib/syncd (see $(SYSUSERSDIR)/syncd.conf)"; \
		fi; \
	fi

# Removes what install put there except syncd.conf (it may hold edits).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/syncd $(DESTDIR)$(BINDIR)/syncctl \
		$(DESTDIR)$(UNITDIR)/syncd.service $(DESTDIR)$(SYSUSERSDIR)/syncd.conf \
		$(DESTDIR)$(TMPFILESDIR)/syncd.conf \
		$(foreach m,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))

clean:
	rm -rf build build-asan build-fuzz
