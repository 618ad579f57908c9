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

.PHONY: all release examples install demo test clean

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
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' tartape.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/tartape.pc

# The main job on the example shipped in the repository: archive examples/site, check it with tar.
demo: release
	$(REL)/tartape create -o $(REL)/site.tar examples/site
	tar tvf $(REL)/site.tar
	@echo "wrote $(REL)/site.tar ($$(wc -c < $(REL)/site.tar) bytes)"

# The whole suite: Rust, C examples, Python, Go, interoperability with real tools.
test:
	bash tests/deps.sh
	bash tests/run-all.sh

clean:
	$(CARGO) clean
