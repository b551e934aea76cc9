# pve.access — entry points.
#
#   make demo        build, start pve-sim, run the example bootstrap playbook
#   make test        everything CI runs: lint, Rust tests, Ansible integration,
#                    molecule, ansible-runner
#   make collection  build the Galaxy tarball into build/
#   make bench       benchmarks (run time, requests, per-task time, sizes)
#
# A fresh clone needs only Rust and Python 3.11: the virtual environment and
# every binary are created here.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

TARGET      := x86_64-unknown-linux-gnu
MODULES     := pve_user pve_group pve_role pve_acl pve_token pve_permission_info
RELEASE_DIR := target/$(TARGET)/release
SIM         := target/debug/pve-sim
VENV        := .venv
PYTHON      ?= python3
VERSION     := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL     := build/pve-access-$(VERSION).tar.gz

export PVE_ACCESS_MODULES_DIR := $(CURDIR)/$(RELEASE_DIR)
export PVE_SIM_BIN            := $(CURDIR)/$(SIM)
export PVE_SIM_AUTH_DELAY_MS  ?= 0
export ANSIBLE_PYTHON         := $(CURDIR)/$(VENV)/bin/python

.PHONY: all demo test lint rust-test ansible-test collection modules sim venv bench clean

all: modules sim

# Static, size-tuned module binaries. RUSTFLAGS with an explicit --target
# applies crt-static to the binaries only, not to build scripts or proc macros.
# Size: identical code folding (the linker is LLD) and packed relative
# relocations (RELR, which static-pie glibc 2.36 applies itself) save about
# 150 KB a binary and keep it static-pie.
MODULE_RUSTFLAGS := -C target-feature=+crt-static -C link-arg=-Wl,--icf=all \
                    -C link-arg=-Wl,-z,pack-relative-relocs

modules:
	RUSTFLAGS='$(MODULE_RUSTFLAGS)' cargo build --release --locked \
	  --target $(TARGET) $(addprefix -p ,$(MODULES))

sim:
	cargo build --locked -p pve-sim

$(VENV)/.stamp: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.stamp

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

rust-test: modules sim
	scripts/check-binaries.sh $(RELEASE_DIR) $(MODULES)
	cargo test --locked --workspace

collection: modules venv
	scripts/build-collection.sh $(RELEASE_DIR) $(MODULES)

ansible-test: collection sim
	tests/integration/run.sh $(TARBALL)

test: lint rust-test ansible-test

demo: collection sim
	scripts/demo.sh $(TARBALL)

bench: collection sim
	scripts/bench.sh $(TARBALL)

clean:
	rm -rf build target/$(TARGET)
