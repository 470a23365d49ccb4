# minirun: build, fixtures, demo, test, bench. Every target works on a fresh Debian 12 as root.
SHELL := /bin/bash
CARGO ?= cargo
TARGET := x86_64-unknown-linux-gnu
# minirun and capprobe are linked statically and not position-independent: no dynamic loader,
# no libgcc_s, no relocations to apply at start-up (see bench/BREAKDOWN.md for what it saves).
# --target keeps these flags off build scripts and proc-macros, which cannot be static.
STATIC_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static
MINIRUN := target/$(TARGET)/release/minirun
CAPPROBE := target/$(TARGET)/release/capprobe
FIXTURE := rootfs-fixtures/build/busybox
# protobuf-compiler: protoc for the k8s-cri dev-dependency's build script; containerd: tests/cri.rs.
APT_PACKAGES := busybox-static libcap-ng-utils file iproute2 crun containerd protobuf-compiler

.PHONY: all build deps fixtures demo test unit integration lint bench stress fuzz clean

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

build:
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release --bin minirun --target $(TARGET)

$(CAPPROBE): rootfs-fixtures/capprobe/src/main.rs rootfs-fixtures/capprobe/Cargo.toml
	RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release -p capprobe --target $(TARGET)

fixtures: deps $(CAPPROBE)
	rootfs-fixtures/busybox.sh $(FIXTURE) $(CAPPROBE)

demo: build fixtures
	$(MINIRUN) $(FIXTURE) /bin/sh -c 'echo hello from $$(hostname); cat /proc/1/cmdline | tr "\0" " "; echo'
	$(MINIRUN) $(FIXTURE) /bin/sh -c 'grep Cap /proc/self/status'

unit:
	$(CARGO) test --release --lib --bins

integration: build fixtures
	MINIRUN_BIN=$(CURDIR)/$(MINIRUN) MINIRUN_FIXTURE=$(CURDIR)/$(FIXTURE) $(CARGO) test --release --test '*' -- --test-threads=2

test: deps lint unit integration

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

bench: build fixtures
	MINIRUN=$(MINIRUN) ROOTFS=$(FIXTURE) bash bench/run.sh

# The long load and fault run: 1000 sequential and 100 concurrent launches, 100 workloads killed
# mid-run, runtimes killed at random launch points; results go to tests/fuzz-corpus/RESULTS.md.
stress: build fixtures
	MINIRUN_STRESS=long MINIRUN_BIN=$(CURDIR)/$(MINIRUN) MINIRUN_FIXTURE=$(CURDIR)/$(FIXTURE) \
	  $(CARGO) test --release --test stress -- --nocapture --test-threads=1 2>&1 | tee target/stress.log
	@grep -q '^test result: ok' target/stress.log

# Every property of tests/props.rs with many cases, for MINIRUN_FUZZ_SECS (default 600) in a debug
# build (overflow checks on); shrunk failures land in tests/fuzz-corpus/regressions, panicking
# config.json texts in tests/fuzz-corpus/crashes.
MINIRUN_FUZZ_SECS ?= 600
fuzz:
	MINIRUN_FUZZ_SECS=$(MINIRUN_FUZZ_SECS) PROPTEST_CASES=$${PROPTEST_CASES:-2000} \
	  $(CARGO) test --test props -- --include-ignored --nocapture 2>&1 | tee target/fuzz.log
	@grep -q '^test result: ok' target/fuzz.log

clean:
	rm -rf rootfs-fixtures/build bench/build
	$(CARGO) clean
