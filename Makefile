# minirun: build, fixtures, demo, test, bench. Every target works on a fresh Debian 12 as root.
SHELL := /bin/bash
CARGO ?= cargo
TARGET := x86_64-unknown-linux-gnu
# minirun and capprobe are linked statically and not position-independent: no dynamic loader,
# no libgcc_s, no relocations to apply at start-up (see bench/BREAKDOWN.md for what it saves).
# --target keeps these flags off build scripts and proc-macros, which cannot be static.
STATIC_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static
# cargo puts its output under CARGO_TARGET_DIR when that is set, else under ./target.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
MINIRUN := $(TARGET_DIR)/$(TARGET)/release/minirun
CAPPROBE := $(TARGET_DIR)/$(TARGET)/release/capprobe
FIXTURE := rootfs-fixtures/build/busybox
# Every Debian package a build, a test or the benchmark uses: installed once, serially, by
# `make deps` before anything runs, so no test races another for the apt lock and a test whose
# client is missing fails instead of installing it.
#   fixtures and probes: busybox-static file;  pscap: libcap-ng-utils;  ip: iproute2
#   reference runtimes: crun runc bubblewrap;  clients: docker.io containerd podman conmon uidmap
#   seccomp: libseccomp-dev (static library), golang-github-containers-common (podman's profile,
#   test data);  script(1) for the -it tests: bsdutils;  unshare/nsenter: util-linux
APT_PACKAGES := busybox-static file libcap-ng-utils iproute2 crun runc bubblewrap \
	docker.io containerd podman conmon uidmap libseccomp-dev golang-github-containers-common \
	bsdutils util-linux

.PHONY: all build deps fixtures demo test unit integration lint bench stress fuzz clean

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  policy=/usr/sbin/policy-rc.d; made=""; \
	  if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' > $$policy && chmod 755 $$policy && made=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  rc=$$?; [ -n "$$made" ] && rm -f $$policy; exit $$rc; fi

build:
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release --bin minirun --target $(TARGET)

$(CAPPROBE): rootfs-fixtures/capprobe/src/main.rs rootfs-fixtures/capprobe/Cargo.toml
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release -p capprobe --target $(TARGET)

fixtures: deps $(CAPPROBE)
	rootfs-fixtures/busybox.sh $(FIXTURE) $(CAPPROBE)

# The workshop's three steps: pscap's line and minirun's grid for each.
demo: build fixtures
	./demo.sh $(MINIRUN) $(FIXTURE)

unit:
	$(CARGO) test --release --lib --bins

integration: build fixtures
	MINIRUN_BIN=$(MINIRUN) MINIRUN_FIXTURE=$(CURDIR)/$(FIXTURE) $(CARGO) test --release --test '*' -- --test-threads=2

test: deps lint unit integration

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

bench: build fixtures
	MINIRUN=$(MINIRUN) ROOTFS=$(FIXTURE) bash bench/run.sh

# The long load and fault run: 1000 sequential and 100 concurrent launches, 100 workloads killed
# mid-run, runtimes killed at random launch points; results go to tests/fuzz-corpus/RESULTS.md.
stress: build fixtures
	MINIRUN_STRESS=long MINIRUN_BIN=$(MINIRUN) MINIRUN_FIXTURE=$(CURDIR)/$(FIXTURE) \
	  $(CARGO) test --release --test stress -- --nocapture --test-threads=1 2>&1 | tee $(TARGET_DIR)/stress.log
	@grep -q '^test result: ok' $(TARGET_DIR)/stress.log

# Every property of tests/props.rs with many cases, for MINIRUN_FUZZ_SECS (default 600) in a debug
# build (overflow checks on); shrunk failures land in tests/fuzz-corpus/regressions, panicking
# config.json texts in tests/fuzz-corpus/crashes.
MINIRUN_FUZZ_SECS ?= 600
fuzz:
	MINIRUN_FUZZ_SECS=$(MINIRUN_FUZZ_SECS) PROPTEST_CASES=$${PROPTEST_CASES:-2000} \
	  $(CARGO) test --test props -- --include-ignored --nocapture 2>&1 | tee $(TARGET_DIR)/fuzz.log
	@grep -q '^test result: ok' $(TARGET_DIR)/fuzz.log

clean:
	rm -rf rootfs-fixtures/build bench/build
	$(CARGO) clean
