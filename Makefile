# crossdock build. `make` builds build/crossdock (release, -O2); `make test` builds
# everything again with AddressSanitizer + UndefinedBehaviorSanitizer under
# build/asan/ and runs every unit and end-to-end test.
#
# Source lists are the folders themselves (one wildcard per layer): every .cc in a
# layer belongs to it, so a new file cannot be forgotten in the build.

CXX      ?= g++
CXXFLAGS_COMMON := -std=c++20 -Wall -Wextra -Werror -I. -DTOML_HEADER_ONLY=0 -MMD -MP -pthread
LDLIBS   := -lyaml-cpp -ltomlplusplus -lboost_program_options -lcurl -lfmt -lcrypto -lssl -ldate-tz -pthread
# libpq: the PostgreSQL state backend (state/pg_connection.cc).
LDLIBS   += -lpq
TEST_LDLIBS := -lgtest -lgmock -lcpp-httplib

DEBIAN_PACKAGES := g++ make pkg-config ca-certificates curl openssl \
  libboost-program-options-dev libtomlplusplus-dev libcurl4-openssl-dev libfmt-dev \
  libcereal-dev nlohmann-json3-dev libssl-dev libgtest-dev libgmock-dev \
  libcpp-httplib-dev docker-registry skopeo umoci apache2-utils jq \
  libhowardhinnant-date-dev tzdata prometheus-cpp-dev libyaml-cpp-dev awscli cmark cmark-gfm \
  zsh fish help2man groff-base git unzip zip
# tests/e2e/schema_test.cc validates `crossdock schema` with it (draft 2020-12: 4.x).
DEBIAN_PACKAGES += python3-jsonschema
# The PostgreSQL state backend (libpq) and the real server its tests start (and the
# connection pooler whose transaction mode they check is refused).
DEBIAN_PACKAGES += postgresql libpq-dev pgbouncer

LIB_SRCS  := $(wildcard core/*.cc) $(wildcard state/*.cc) $(wildcard providers/*.cc) \
             $(wildcard providers/*/*.cc) $(wildcard planner/*.cc) $(wildcard applier/*.cc)
CMD_SRCS  := $(wildcard cmd/*.cc)
UNIT_SRCS := $(wildcard tests/unit/*/*.cc) $(wildcard tests/unit/*.cc)
E2E_SRCS  := $(wildcard tests/e2e/*.cc)
# The harness end-to-end tests and the benchmark share: a library of its own.
SUPPORT_SRCS := $(wildcard tests/support/*.cc)
FAKE_SRCS := $(wildcard tests/fakes/*.cc)

# Release build.
REL := build
REL_CXXFLAGS := $(CXXFLAGS_COMMON) -O2
# Sanitizer build, used by `make test`. -O0 -g1 (line tables: sanitizer reports keep
# file:line) compiles about 2.5x faster than -O1 -g on 2 cores, which is most of the
# suite's time; the tests wait on registries, not on the CPU.
SAN := build/asan
SAN_CXXFLAGS := $(CXXFLAGS_COMMON) -O0 -g1 -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: all deps test unit e2e demo bench fuzz fuzz-build fuzz-merge fmt clean
# Keep the object files of the fakes (pattern-rule intermediates) between builds.
.PRECIOUS: %.o
all: $(REL)/crossdock

define build_tree
$(1)/obj/%.o: %.cc
	@mkdir -p $$(dir $$@)
	$$(CXX) $(2) -c $$< -o $$@
$(1)/libcrossdock.a: $$(LIB_SRCS:%.cc=$(1)/obj/%.o)
	@rm -f $$@
	ar rcs $$@ $$^
$(1)/crossdock: $$(CMD_SRCS:%.cc=$(1)/obj/%.o) $(1)/libcrossdock.a
	$$(CXX) $(2) -o $$@ $$^ $$(LDLIBS) -lcpp-httplib -lprometheus-cpp-core
endef
$(eval $(call build_tree,$(REL),$(REL_CXXFLAGS)))
$(eval $(call build_tree,$(SAN),$(SAN_CXXFLAGS)))

$(SAN)/unit_tests: $(UNIT_SRCS:%.cc=$(SAN)/obj/%.o) $(SAN)/libcrossdock.a
	$(CXX) $(SAN_CXXFLAGS) -o $@ $^ $(TEST_LDLIBS) -lgtest_main $(LDLIBS)
$(SAN)/libsupport.a: $(SUPPORT_SRCS:%.cc=$(SAN)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
$(SAN)/e2e_tests: $(E2E_SRCS:%.cc=$(SAN)/obj/%.o) $(SAN)/libsupport.a $(SAN)/libcrossdock.a
	$(CXX) $(SAN_CXXFLAGS) -o $@ $^ $(TEST_LDLIBS) -lgtest_main $(LDLIBS)
$(SAN)/fakes/%: $(SAN)/obj/tests/fakes/%.o $(SAN)/libcrossdock.a
	@mkdir -p $(dir $@)
	$(CXX) $(SAN_CXXFLAGS) -o $@ $^ $(TEST_LDLIBS) $(LDLIBS)

FAKES := $(FAKE_SRCS:tests/fakes/%.cc=$(SAN)/fakes/%)

# Fuzz targets (tests/fuzz/README.md): one tests/fuzz/NAME_fuzzer.cc each. `make test`
# replays every corpus through a g++ sanitizer build of each target with
# tests/fuzz/replay_main.cc instead of libFuzzer (no clang needed).
FUZZ_SRCS  := $(wildcard tests/fuzz/*_fuzzer.cc)
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/%_fuzzer.cc=%)
REPLAYS    := $(FUZZ_NAMES:%=$(SAN)/fuzz/%_replay)
$(SAN)/fuzz/%_replay: $(SAN)/obj/tests/fuzz/%_fuzzer.o $(SAN)/obj/tests/fuzz/replay_main.o $(SAN)/libcrossdock.a
	@mkdir -p $(dir $@)
	$(CXX) $(SAN_CXXFLAGS) -o $@ $^ $(LDLIBS)

# Installs the Debian packages in $(1) that are missing, for `make $(2)` (idempotent:
# apt-get runs only when something is missing). Its output goes to stderr.
define install_missing
@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
if [ -n "$$missing" ]; then \
  echo "make $(2): installing $$missing" >&2; \
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; } >&2; \
fi
endef

# Installs the Debian packages crossdock needs to build, test and demo.
deps:
	$(call install_missing,$(DEBIAN_PACKAGES),deps)

test: deps
	$(MAKE) --no-print-directory -j$$(nproc) $(SAN)/crossdock $(SAN)/unit_tests $(SAN)/e2e_tests $(FAKES) $(REPLAYS)
	@CROSSDOCK_BIN=$(CURDIR)/$(SAN)/crossdock CROSSDOCK_FAKES=$(CURDIR)/$(SAN)/fakes \
	  CROSSDOCK_SRC=$(CURDIR) tests/run_all.sh $(SAN)/unit_tests $(SAN)/e2e_tests $(REPLAYS)

demo: deps
	$(MAKE) --no-print-directory -j$$(nproc) $(REL)/crossdock
	@examples/demo.sh $(CURDIR)/$(REL)/crossdock

# The benchmark against skopeo (bench/README.md): bench/*.cc linked with the test
# support library (its hand-written OCI layouts and processes), release flags, under
# build/bench/. The vendor fakes the bench starts (vendor-noop: tests/fakes/harbor and
# dockerhub, in front of its registries) are built with release flags too, into
# build/bench/fakes/ (any fake builds there; `make bench` builds the ones it starts), so
# the fakes' own work does not weigh on the figures as a sanitizer build's would.
# Arguments through BENCH_ARGS, e.g. make bench BENCH_ARGS="--datasets fleet,no-op --reps 5".
# GNU time measures each tool's peak RSS (see bench/tools.h).
BENCH := build/bench
BENCH_SRCS := $(wildcard bench/*.cc)
BENCH_FAKES := $(BENCH)/fakes/harbor $(BENCH)/fakes/dockerhub
BENCH_ARGS ?=
BENCH_DEBIAN_PACKAGES := time
$(BENCH)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(REL_CXXFLAGS) -c $< -o $@
$(BENCH)/libsupport.a: $(SUPPORT_SRCS:%.cc=$(BENCH)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
# The scale part (bench/scale.h) reads and writes state files with crossdock's own code.
$(BENCH)/crossdock_bench: $(BENCH_SRCS:%.cc=$(BENCH)/obj/%.o) $(BENCH)/libsupport.a $(REL)/libcrossdock.a
	$(CXX) $(REL_CXXFLAGS) -o $@ $^ -lcpp-httplib $(LDLIBS)
$(BENCH)/fakes/%: $(BENCH)/obj/tests/fakes/%.o $(REL)/libcrossdock.a
	@mkdir -p $(dir $@)
	$(CXX) $(REL_CXXFLAGS) -o $@ $^ -lcpp-httplib $(LDLIBS)

bench: deps
	$(call install_missing,$(BENCH_DEBIAN_PACKAGES),bench)
	@# Build output to stderr: stdout carries only the tables (or --json).
	@$(MAKE) --no-print-directory -j$$(nproc) $(REL)/crossdock $(BENCH)/crossdock_bench $(BENCH_FAKES) >&2
	@$(BENCH)/crossdock_bench --crossdock $(CURDIR)/$(REL)/crossdock $(BENCH_ARGS)

# libFuzzer (tests/fuzz/README.md): the library and each target built with clang under
# build/fuzz/, then each target run for FUZZ_SECONDS. New inputs go to build/fuzz/corpus/
# (the checked-in corpus only grows by `make fuzz-merge`), crashes to build/fuzz/crashes/;
# the run fails if any target crashed. FUZZ_TARGETS=cron,semver picks targets.
FUZZ := build/fuzz
FUZZ_CXX ?= clang++
FUZZ_CXXFLAGS := $(CXXFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
  -fsanitize-ignorelist=tests/fuzz/ubsan_ignorelist.txt
FUZZ_DEBIAN_PACKAGES := clang libclang-rt-dev
FUZZ_SECONDS ?= 60
comma := ,
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_SELECTED := $(subst $(comma), ,$(FUZZ_TARGETS))
# The targets' objects are pattern-rule intermediates: keep them.
.SECONDARY: $(FUZZ_SRCS:%.cc=$(FUZZ)/obj/%.o) $(FUZZ_SRCS:%.cc=$(SAN)/obj/%.o) \
  $(SAN)/obj/tests/fuzz/replay_main.o
$(FUZZ)/obj/%.o: %.cc tests/fuzz/ubsan_ignorelist.txt
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -c $< -o $@
$(FUZZ)/libcrossdock.a: $(LIB_SRCS:%.cc=$(FUZZ)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ)/%_fuzzer: $(FUZZ)/obj/tests/fuzz/%_fuzzer.o $(FUZZ)/libcrossdock.a
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: deps
	$(call install_missing,$(FUZZ_DEBIAN_PACKAGES),fuzz)
	@unknown="$(filter-out $(FUZZ_NAMES),$(FUZZ_SELECTED))"; if [ -n "$$unknown" ]; then \
	  echo "make fuzz: no fuzz target named $$unknown (targets: $(FUZZ_NAMES))" >&2; exit 1; fi
	$(MAKE) --no-print-directory -j$$(nproc) $(FUZZ_SELECTED:%=$(FUZZ)/%_fuzzer)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS) $(FUZZ_SELECTED)

# Adds to tests/fuzz/corpus/ the inputs `make fuzz` found that reach new code
# (libFuzzer's -merge=1 keeps only those); review and commit them.
fuzz-merge: fuzz-build
	@for t in $(FUZZ_SELECTED); do \
	  [ -d $(FUZZ)/corpus/$$t ] || continue; \
	  echo "== $$t"; \
	  $(FUZZ)/$${t}_fuzzer -merge=1 tests/fuzz/corpus/$$t $(FUZZ)/corpus/$$t 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' || exit 1; \
	done

# The man page, from the help texts (help2man; man/commands.sh adds each command's
# options), and `make install` of the binary, the man page and the completion scripts
# under $(DESTDIR)$(PREFIX). BIN picks another binary (e.g. build/asan/crossdock, as
# tests/e2e/install_test.cc does), MANPAGE where its page goes.
.PHONY: man install
MAN_DEBIAN_PACKAGES := help2man
BIN ?= $(REL)/crossdock
MANPAGE ?= $(BIN).1
PREFIX ?= /usr/local
DESTDIR ?=
# Where each shell looks. zsh: Debian's zsh reads vendor-completions under /usr only,
# and /usr/local/share/zsh/site-functions (zsh's own default) under /usr/local; fish
# reads $(PREFIX)/share/fish/vendor_completions.d when $$XDG_DATA_DIRS names $(PREFIX)/share.
BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPLETION_DIR ?= $(PREFIX)/share/zsh/$(if $(filter /usr,$(PREFIX)),vendor-completions,site-functions)
FISH_COMPLETION_DIR ?= $(PREFIX)/share/fish/vendor_completions.d
man: $(MANPAGE)
$(MANPAGE): $(BIN) man/commands.sh
	$(call install_missing,$(MAN_DEBIAN_PACKAGES),man)
	@mkdir -p $(dir $@)
	man/commands.sh $(BIN) > $@.commands
	help2man --no-info --output=$@ --include=$@.commands \
	  --name="keep container registries in sync the way Terraform keeps infrastructure in sync" $(BIN)
	@rm -f $@.commands
# The three completion scripts are made first, then installed: sh has no pipefail, so a
# pipe into install would install whatever a failing $(BIN) printed.
install: $(BIN) $(MANPAGE)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/crossdock
	install -D -m 0644 $(MANPAGE) $(DESTDIR)$(PREFIX)/share/man/man1/crossdock.1
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(BIN) completion bash > "$$tmp/bash" && $(BIN) completion zsh > "$$tmp/zsh" && \
	  $(BIN) completion fish > "$$tmp/fish" && \
	  install -D -m 0644 "$$tmp/bash" $(DESTDIR)$(BASH_COMPLETION_DIR)/crossdock && \
	  install -D -m 0644 "$$tmp/zsh" $(DESTDIR)$(ZSH_COMPLETION_DIR)/_crossdock && \
	  install -D -m 0644 "$$tmp/fish" $(DESTDIR)$(FISH_COMPLETION_DIR)/crossdock.fish

fmt:
	clang-format -i --style=Google $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
