# tartape: build, install, examples and the whole test suite.
PREFIX ?= /usr/local
DESTDIR ?=
CARGO ?= cargo
CC ?= cc
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))
MINOR := $(word 2,$(subst ., ,$(VERSION)))
SONAME := libtartape.so.$(MAJOR).$(MINOR)
REL := target/release
CFLAGS_STRICT := -std=c99 -Wall -Wextra -Werror -pedantic -O2
EXAMPLES := stream_dir from_memory resume read_range multipart compress

.PHONY: all release examples install demo test quick clean wheel

all: release examples

release:
	$(CARGO) build --release --locked
	ln -sf libtartape.so $(REL)/$(SONAME)

examples: release
	mkdir -p $(REL)/examples-c
	for e in $(EXAMPLES); do \
	  $(CC) $(CFLAGS_STRICT) -Iinclude examples-c/$$e.c -L$(REL) -ltartape -Wl,-rpath,$(abspath $(REL)) -lpthread -o $(REL)/examples-c/$$e || exit 1; \
	done

install: release
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/tartape.h $(DESTDIR)$(PREFIX)/include/tartape.h
	install -m 755 $(REL)/libtartape.so $(DESTDIR)$(PREFIX)/lib/libtartape.so.$(VERSION)
	ln -sf libtartape.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libtartape.so
	install -m 644 $(REL)/libtartape.a $(DESTDIR)$(PREFIX)/lib/libtartape.a
	install -m 755 $(REL)/tartape $(DESTDIR)$(PREFIX)/bin/tartape
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	$(REL)/tartape man $(DESTDIR)$(PREFIX)/share/man/man1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' tartape.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/tartape.pc

# The Python wheel: py3-none-manylinux_2_N_<arch>, the library inside (needs cargo here, not on
# the machines that install it). N comes from the library's glibc symbol versions (setup.py): the
# glibc of this machine. `make wheel GLIBC=2.17` links the library against glibc 2.17 instead with
# cargo-zigbuild (zig and cargo-zigbuild from PyPI, installed into target/zig-venv), which gives a
# manylinux_2_17 (manylinux2014) wheel that installs on nearly every Linux of the last ten years.
WHEEL_DIR ?= target/wheels
PYTHON ?= python3
GLIBC ?=
ARCH := $(shell uname -m)
ZIG_VENV := target/zig-venv
wheel:
	rm -rf $(WHEEL_DIR)
ifeq ($(GLIBC),)
	$(PYTHON) -m pip wheel --no-deps --disable-pip-version-check --quiet -w $(WHEEL_DIR) ./bindings/python
else
	[ -x $(ZIG_VENV)/bin/cargo-zigbuild ] || { $(PYTHON) -m venv $(ZIG_VENV) && \
	  $(ZIG_VENV)/bin/pip install --quiet --disable-pip-version-check ziglang cargo-zigbuild; }
	PATH="$(abspath $(ZIG_VENV))/bin:$$PATH" $(ZIG_VENV)/bin/cargo-zigbuild zigbuild --release --lib \
	  --locked -p tartape --target $(ARCH)-unknown-linux-gnu.$(GLIBC) --target-dir target/zig
	TARTAPE_PREBUILT_LIBRARY="$(abspath target/zig/$(ARCH)-unknown-linux-gnu/release/libtartape.so)" \
	  $(PYTHON) -m pip wheel --no-deps --disable-pip-version-check --quiet -w $(WHEEL_DIR) ./bindings/python
endif
	@ls $(WHEEL_DIR)/*.whl

# The main job on the example shipped in the repository: archive examples/site, check it with tar.
demo: release
	$(REL)/tartape create -o $(REL)/site.tar examples/site
	tar tvf $(REL)/site.tar
	@echo "wrote $(REL)/site.tar ($$(wc -c < $(REL)/site.tar) bytes)"

# The whole suite: Rust, C examples, Python, Go, interoperability with real tools.
test:
	bash tests/deps.sh
	bash tests/run-all.sh

# The inner loop: format, lints and the Rust tests of both crates (engine and command line).
quick:
	cargo fmt --all -- --check
	cargo clippy --locked --all-targets -- -D warnings
	TARTAPE_SERVE_LOAD_SECONDS=$${TARTAPE_SERVE_LOAD_SECONDS:-8} cargo test --locked --profile tests

clean:
	$(CARGO) clean
