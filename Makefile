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
# A fresh clone needs only Rust (rustup) and Python 3.11: the virtual
# environments, the cross-build and emulation tools (pinned below) and every
# binary are created here.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# The platforms the collection ships a binary of every module for, as
# binaries/linux-<arch>/ (x86_64 first: the machine that builds and tests).
ARCHS       := x86_64 aarch64
MODULES     := $(sort $(notdir $(wildcard modules/*)))
release_dir  = target/$(1)-unknown-linux-musl/release
RELEASE_DIR := $(call release_dir,x86_64)
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

.PHONY: all demo test lint ldap rust-test aarch64-test ansible-test real-pve-test collection-lint docs docs-venv collection modules sim venv bench clean

all: modules sim

# The tools of the musl builds, pinned; each is installed once into .tools/
# (a directory per version, so changing a pin installs the new one):
# cargo-zigbuild and zig (PyPI's ziglang, requirements-zig.txt, its own venv)
# compile ring's C and assembly for each target. The tests run the aarch64
# binaries with Debian's qemu-user-static, and busybox-static of arm64 is the
# userland of an aarch64 target (both unpacked, not installed).
TOOLS                  := .tools
CARGO_ZIGBUILD_VERSION := 0.24.1
CARGO_ZIGBUILD         := $(TOOLS)/cargo-zigbuild-$(CARGO_ZIGBUILD_VERSION)/bin/cargo-zigbuild
ZIG_VENV               := .venv-zig
QEMU_VERSION           := 1:7.2+dfsg-7+deb12u18+b3
QEMU_AARCH64           := $(TOOLS)/qemu-$(subst :,_,$(QEMU_VERSION))/qemu-aarch64-static
BUSYBOX_VERSION        := 1:1.35.0-4+deb12u1+b1
BUSYBOX_AARCH64        := $(TOOLS)/busybox-arm64-$(subst :,_,$(BUSYBOX_VERSION))/busybox
export PVE_ACCESS_QEMU_AARCH64    := $(CURDIR)/$(QEMU_AARCH64)
export PVE_ACCESS_BUSYBOX_AARCH64 := $(CURDIR)/$(BUSYBOX_AARCH64)
# The tests' LDAP directory server (scripts/slapd.sh): Debian's slapd and
# ldap-utils with the libraries they need that a plain Debian may lack, all
# unpacked into one directory named after the pins (so changing one fetches
# the set anew).
OPENLDAP_VERSION := 2.5.13+dfsg-5
OPENLDAP_DEBS    := slapd=$(OPENLDAP_VERSION) ldap-utils=$(OPENLDAP_VERSION) libldap-2.5-0=$(OPENLDAP_VERSION) \
                    libltdl7=2.4.7-7~deb12u1 libwrap0=7.6.q-32 libsasl2-2=2.1.28+dfsg-10+deb12u1
OPENLDAP         := $(TOOLS)/openldap-$(OPENLDAP_VERSION)-$(shell printf %s '$(OPENLDAP_DEBS)' | sha256sum | cut -c1-8)
export PVE_ACCESS_OPENLDAP := $(CURDIR)/$(OPENLDAP)

# Static, size-tuned module binaries: musl, fully static, for each of ARCHS.
# zig (through cargo-zigbuild) compiles the C, but Rust's own LLD links,
# with Rust's self-contained musl: zig's linker refuses the two size flags.
# Identical code folding and packed relative relocations (RELR, which musl's
# static-pie start-up applies itself) save about 150 KB a binary.
RUST_LLD := $(shell rustc --print sysroot)/lib/rustlib/$(shell rustc -vV | sed -n 's/^host: //p')/bin/rust-lld
MODULE_RUSTFLAGS := -C linker=$(RUST_LLD) -C link-self-contained=yes \
                    -C link-arg=--icf=all -C link-arg=-zpack-relative-relocs

$(CARGO_ZIGBUILD):
	cargo install --locked --quiet cargo-zigbuild --version $(CARGO_ZIGBUILD_VERSION) \
	  --root $(TOOLS)/cargo-zigbuild-$(CARGO_ZIGBUILD_VERSION)

$(ZIG_VENV)/.stamp: requirements-zig.txt
	$(PYTHON) -m venv $(ZIG_VENV)
	$(ZIG_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-zig.txt
	touch $@

$(QEMU_AARCH64):
	scripts/fetch-deb-file.sh qemu-user-static '$(QEMU_VERSION)' amd64 usr/bin/qemu-aarch64-static $@

$(BUSYBOX_AARCH64):
	scripts/fetch-deb-file.sh busybox-static '$(BUSYBOX_VERSION)' arm64 bin/busybox $@

$(OPENLDAP)/usr/sbin/slapd:
	scripts/fetch-debs.sh $(OPENLDAP) $(OPENLDAP_DEBS)

# Prints where it is, for scripts/slapd.sh run outside make.
ldap: $(OPENLDAP)/usr/sbin/slapd
	@echo $(CURDIR)/$(OPENLDAP)

modules: $(CARGO_ZIGBUILD) $(ZIG_VENV)/.stamp
	rustup target add $(foreach a,$(ARCHS),$(a)-unknown-linux-musl) 2>&1 | grep -v 'is up to date' || true
	RUSTFLAGS='$(MODULE_RUSTFLAGS)' CARGO_ZIGBUILD_PYTHON_PATH=$(CURDIR)/$(ZIG_VENV)/bin/python \
	  $(CARGO_ZIGBUILD) zigbuild --release --locked $(foreach a,$(ARCHS),--target $(a)-unknown-linux-musl) \
	  $(addprefix -p ,$(MODULES))

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

rust-test: modules sim ldap
	$(foreach a,$(ARCHS),scripts/check-binaries.sh $(a) $(call release_dir,$(a)) $(MODULES) &&) true
	cargo test --locked --workspace

# The aarch64 binaries under qemu-user, against pve-sim: each module's own
# integration tests (the same tests as for x86_64, through wrappers that run
# the binary with qemu-aarch64-static).
aarch64-test: modules sim $(QEMU_AARCH64)
	scripts/qemu-module-tests.sh $(call release_dir,aarch64) $(MODULES)

collection: modules venv
	scripts/build-collection.sh target '$(ARCHS)' $(MODULES)

ansible-test: collection sim $(QEMU_AARCH64) $(BUSYBOX_AARCH64)
	tests/integration/run.sh $(TARBALL)

collection-lint: collection docs-venv
	scripts/lint-collection.sh $(TARBALL)

docs: collection docs-venv
	scripts/build-docs.sh $(TARBALL)

# The same module tests and Ansible targets against the real PVE code (9.1
# and 8.4); pve-sim's own tests are not repeated (the conformance test in
# pve-sim/ compares it with the real code).
real-pve-test: modules sim collection ldap $(QEMU_AARCH64) $(BUSYBOX_AARCH64)
ifeq ($(ORACLE_READY),yes)
	PVE_TEST_SERVER=pve-oracle cargo test --locked --workspace --exclude pve-sim --tests
	PVE_TEST_SERVER=pve-oracle PVE_TEST_VERSIONS="9.1 8.4" tests/integration/run.sh $(TARBALL)
else ifeq ($(PVE_REQUIRE_ORACLE),1)
	@echo "real-PVE suite required (PVE_REQUIRE_ORACLE=1) but pve-oracle is not usable at $(PVE_ORACLE): $(ORACLE_HOWTO)" >&2; exit 1
else
	@echo "real-PVE suite skipped: no usable pve-oracle at $(PVE_ORACLE)"
endif

test: lint rust-test aarch64-test collection-lint ansible-test real-pve-test
ifeq ($(ORACLE_READY),yes)
	@echo "make test: all green, against pve-sim and the real PVE code ($(PVE_ORACLE), 9.1 and 8.4)"
else
	@echo "make test: all green against pve-sim; the real-PVE suite was SKIPPED (no usable pve-oracle at $(PVE_ORACLE)): to run it, $(ORACLE_HOWTO)"
endif

demo: collection sim
	scripts/demo.sh $(TARBALL)

bench: collection sim $(QEMU_AARCH64)
	scripts/bench.sh $(TARBALL)

clean:
	rm -rf build $(foreach a,$(ARCHS),target/$(a)-unknown-linux-musl)
