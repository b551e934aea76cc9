# pve.access — entry points.
#
#   make demo        build, start pve-sim, run the example bootstrap playbook
#   make test        everything CI runs: lint, Rust tests, Ansible integration,
#                    molecule, ansible-runner; against pve-sim, then again
#                    against the real PVE code (pve-oracle) when it is there
#   make collection  build the Galaxy tarball into build/
#   make docs        the collection's docs site (HTML) into build/docs/html
#   make bench       benchmarks (run time, requests, per-task time, sizes)
#
# A fresh clone needs only Rust and Python 3.11: the virtual environment and
# every binary are created here.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

TARGET      := x86_64-unknown-linux-gnu
MODULES     := $(sort $(notdir $(wildcard modules/*)))
RELEASE_DIR := target/$(TARGET)/release
SIM         := target/debug/pve-sim
VENV        := .venv
DOCS_VENV   := .venv-docs
PYTHON      ?= python3
VERSION     := $(shell sed -n 's/^version: *//p' galaxy.yml)
TARBALL     := build/pve-access-$(VERSION).tar.gz

export PVE_ACCESS_MODULES_DIR := $(CURDIR)/$(RELEASE_DIR)
export PVE_SIM_BIN            := $(CURDIR)/$(SIM)
export PVE_SIM_AUTH_DELAY_MS  ?= 0
export ANSIBLE_PYTHON         := $(CURDIR)/$(VENV)/bin/python

# The real PVE access-control code, the judge of pve-sim and the modules
# (../shared/pve-oracle, AGPL, never copied here): found through this one
# variable. It needs its Debian packages (its deps.sh); without them or it,
# `make test` runs everything else and says the real-PVE suite was skipped,
# unless PVE_REQUIRE_ORACLE=1 (CI), which makes that a failure.
export PVE_ORACLE ?= $(abspath $(CURDIR)/../shared/pve-oracle/pve-oracle)
ORACLE_READY := $(shell test -x '$(PVE_ORACLE)' && perl -MAnyEvent::HTTP -MJSON::XS -MNet::SSLeay -e1 2>/dev/null && echo yes)
ORACLE_HOWTO := get ../shared/pve-oracle beside this checkout (or set PVE_ORACLE) and run its deps.sh as root

.PHONY: all demo test lint rust-test ansible-test real-pve-test collection-lint docs docs-venv collection modules sim venv bench clean

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

# The docs and collection-linting tools live apart from the test venv, so
# neither pins the other's dependencies.
$(DOCS_VENV)/.stamp: requirements-docs.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-docs.txt
	touch $@

docs-venv: $(DOCS_VENV)/.stamp

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

collection-lint: collection docs-venv
	scripts/lint-collection.sh $(TARBALL)

docs: collection docs-venv
	scripts/build-docs.sh $(TARBALL)

# The same module tests and Ansible targets against the real PVE code (9.1
# and 8.4); pve-sim's own tests are not repeated (the conformance test in
# pve-sim/ compares it with the real code).
real-pve-test: modules sim collection
ifeq ($(ORACLE_READY),yes)
	PVE_TEST_SERVER=pve-oracle cargo test --locked --workspace --exclude pve-sim --tests
	PVE_TEST_SERVER=pve-oracle PVE_TEST_VERSIONS="9.1 8.4" tests/integration/run.sh $(TARBALL)
else ifeq ($(PVE_REQUIRE_ORACLE),1)
	@echo "real-PVE suite required (PVE_REQUIRE_ORACLE=1) but pve-oracle is not usable at $(PVE_ORACLE): $(ORACLE_HOWTO)" >&2; exit 1
else
	@echo "real-PVE suite skipped: no usable pve-oracle at $(PVE_ORACLE)"
endif

test: lint rust-test collection-lint ansible-test real-pve-test
ifeq ($(ORACLE_READY),yes)
	@echo "make test: all green, against pve-sim and the real PVE code ($(PVE_ORACLE), 9.1 and 8.4)"
else
	@echo "make test: all green against pve-sim; the real-PVE suite was SKIPPED (no usable pve-oracle at $(PVE_ORACLE)): to run it, $(ORACLE_HOWTO)"
endif

demo: collection sim
	scripts/demo.sh $(TARBALL)

bench: collection sim
	scripts/bench.sh $(TARBALL)

clean:
	rm -rf build target/$(TARGET)
