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
APT_PACKAGES := busybox-static libcap-ng-utils file iproute2 crun

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

clean:
	rm -rf rootfs-fixtures/build bench/build
	$(CARGO) clean
