# Thin wrapper around meson/ninja. The two commands of the README:
#   make demo    build, then boot a VM that gets an address by DHCP and reaches the host
#   make check   install what is missing, build, run every test (unit, functional, fuzz smoke)
# Other targets: make (build), make asan, make bench, make fuzz, make clean.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PYTEST     ?= /usr/bin/python3 -m pytest
FUZZ_SECONDS ?= 600          # per target, for make fuzz
FUZZ_SMOKE_SECONDS ?= 20     # per target, inside make check

.PHONY: all build asan deps guest check layers unit func fuzz-smoke fuzz demo bench clean

all: build

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

deps:
	./scripts/install-deps.sh

guest:
	./tests/vm/build-guest.sh

# The include graph of src/ must stay a DAG of layers (scripts/check-layers.sh).
layers:
	./scripts/check-layers.sh

unit: build asan
	meson test -C $(BUILD) --suite unit --print-errorlogs
	meson test -C $(ASAN_BUILD) --suite unit --print-errorlogs

# Functional tests drive the sanitizer build, so every real-peer scenario
# also checks for memory errors and undefined behaviour.
func: asan guest
	VNET_BUILD=$(abspath $(ASAN_BUILD)) $(PYTEST) -q tests/func

fuzz-smoke:
	./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS)

fuzz:
	./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

check: deps
	$(MAKE) layers
	$(MAKE) unit
	$(MAKE) func
	$(MAKE) fuzz-smoke

demo: deps build guest
	./scripts/demo.sh $(BUILD)

# Switch (vnetd vs Linux bridge vs vde_switch), NAT (vnetd vs kernel NAT, pasta,
# slirp4netns), overlay (vnetd vs kernel vxlan), VPN (vs wireguard-go), VMs (vhost-user
# vs stream, passt, QEMU user), vhost-user under testpmd and DNS (forwarder vs upstream)
# benchmarks; writes bench/results/latest.md. About an hour.
bench: deps build
	./bench/run-all.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
