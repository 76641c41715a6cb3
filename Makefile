# bustd: build, test, install and package.
#
#   make deps            install the Debian packages the build needs (as
#                        root; as anyone else it prints the apt-get command)
#   make                 build bin/bustd, bin/bustd-notify and the man pages
#   make run             build, then a dry run on this machine (kills nothing)
#   make test-deps test  the test suite, with the packages it needs
#   make install         install what was built (never builds, never runs apt)
#   make deb             the Debian packages, in ../ (debhelper)
#
# Nothing here installs packages except the deps targets.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= /etc/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
SYSCONFDIR ?= /etc
DESTDIR ?=
SWIFT ?= swift

# Debian packages the build and the tests need (python3 and util-linux's
# setpriv drive the integration tests; dbus, python3-dbus and python3-gi run
# bustd-notify's end-to-end tests against a fake notification server; Xvfb,
# dunst and imagemagick its screenshot; jq the event socket's shell example;
# mandoc and groff lint the man pages; systemd's XDG autostart generator
# checks the notifier's autostart entry; prometheus's promtool checks the
# metrics file and the example alert rules, and prometheus-node-exporter
# scrapes the metrics file).
BUILD_PACKAGES := libc6-dev libnotify-dev libdbus-1-dev pkg-config scdoc
TEST_PACKAGES := python3 util-linux procps dbus dbus-x11 python3-dbus python3-gi dunst xvfb imagemagick x11-apps jq mandoc groff-base systemd \
	prometheus prometheus-node-exporter
PACKAGE_PACKAGES := debhelper dpkg-dev lintian fakeroot

# The Embedded Swift runtime of the toolchain on PATH.
EMBEDDED_LIB := $(shell dirname "$$(dirname "$$(readlink -f "$$(command -v swiftc)")")")/lib/swift/embedded/$(shell uname -m)-unknown-linux-gnu

# The end-to-end proof in a QEMU guest (e2e/README.md).
E2E_PACKAGES := debootstrap qemu-system-x86 e2fsprogs gcc libc6-dev python3

MANPAGES := man/bustd.8 man/bustd-notify.1

.PHONY: all deps test-deps package-deps e2e-deps test man-lint lint format run install uninstall clean bench deb e2e e2e-all e2e-systemd hot-symbols

all: bin/bustd bin/bustd-notify $(MANPAGES)

deps:
	@./dist/ensure-packages $(BUILD_PACKAGES)

test-deps: deps
	@./dist/ensure-packages $(TEST_PACKAGES)

package-deps: deps
	@./dist/ensure-packages $(PACKAGE_PACKAGES)

e2e-deps:
	@./dist/ensure-packages $(E2E_PACKAGES)

# The daemon: Embedded Swift, statically linked (see Package.swift).
bin/bustd: $(shell find Sources/bustd Sources/Shared Sources/CBustd -type f) Package.swift
	@# The link reads Sources/bustd/hot-symbols.txt, which SwiftPM does not track.
	rm -f .build-embedded/release/bustd
	BUSTD_EMBEDDED=1 BUSTD_EMBEDDED_LIB="$(EMBEDDED_LIB)" $(SWIFT) build -c release --product bustd --scratch-path .build-embedded
	@mkdir -p bin
	cp .build-embedded/release/bustd bin/bustd
	strip bin/bustd

# The notifier: ordinary Swift with libnotify; the Swift runtime linked in,
# so it needs no toolchain at run time.
bin/bustd-notify: $(shell find Sources/bustd-notify Sources/CLibNotify Sources/CGioUnix Sources/CNotifySupport Sources/Shared -type f) Package.swift
	$(SWIFT) build -c release --product bustd-notify --static-swift-stdlib
	@mkdir -p bin
	cp .build/release/bustd-notify bin/bustd-notify
	strip bin/bustd-notify

# Man pages, from their scdoc sources in docs/.
man/%: docs/%.scd
	@mkdir -p man
	scdoc < $< > $@

# Both linters, on every page: groff with all warnings; mandoc's lint
# without its one complaint about scdoc's output (an empty paragraph macro
# after each heading, which renders to nothing).
man-lint: $(MANPAGES)
	@for page in $(MANPAGES); do \
		groff -man -ww -z $$page || exit 1; \
		out=$$(mandoc -Tlint -W warning $$page 2>&1 | grep -v 'skipping paragraph macro'); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	done; echo "man pages lint clean: $(MANPAGES)"

# Builds, then watches this machine in the foreground without killing:
# the safe way to see what bustd would do. Ctrl-C stops it.
run: bin/bustd
	./bin/bustd --no-daemon --dry-run --verbose

test: man-lint
	$(SWIFT) test

# The Swift sources against the project's style (.swift-format): fails on
# any finding. `make format` rewrites the tree in that style.
SWIFT_SOURCES = Sources Tests Package.swift
lint:
	$(SWIFT) format lint --strict --configuration .swift-format -r $(SWIFT_SOURCES)
	@echo "swift-format: no findings"

format:
	$(SWIFT) format format --configuration .swift-format -i -r $(SWIFT_SOURCES)

bench: bin/bustd
	BUSTD_BIN=bin/bustd bench/footprint

# Profiles the daemon (valgrind) and rewrites the list of functions the
# linker puts first (Sources/bustd/hot-symbols.txt); then relinks.
hot-symbols: bin/bustd
	dist/hot-symbols
	$(MAKE) bin/bustd

# The default scenarios (single hog, zram, SIGTERM ignored, twelve growers); e2e-all runs
# every scenario. Each boots a 1 GiB guest; the first run builds its image.
e2e: bin/bustd bin/bustd-notify e2e-deps
	e2e/run --no-build

# The systemd guest (systemd as PID 1, a user manager for uid 1000): apps as
# units, ManagedOOMPreference, --kill-unit, memory.oom.group, app names; and
# the Debian packages installed, configured, run and removed there.
e2e-systemd: bin/bustd bin/bustd-notify e2e-deps deb
	e2e/run --no-build apps-avoid kill-unit oom-group package

e2e-all: bin/bustd bin/bustd-notify e2e-deps deb
	e2e/run --no-build single-hog zram ignore-term protected-largest forking-hog forking-hog-g pagecache pressure-rule pressure-rest no-psi cgroup-oom growers-4 growers-12 growers-32 build apps-avoid kill-unit oom-group package

# Installs what `make` built; it builds nothing and runs no apt-get, so
# `sudo make install` after `make` touches nothing but the files below.
install:
	@for file in bin/bustd bin/bustd-notify $(MANPAGES); do \
		[ -f $$file ] || { echo "make install: $$file is missing; run make first" >&2; exit 1; }; \
	done
	install -D -m 0755 bin/bustd $(DESTDIR)$(BINDIR)/bustd
	install -D -m 0755 bin/bustd-notify $(DESTDIR)$(BINDIR)/bustd-notify
	install -D -m 0644 man/bustd.8 $(DESTDIR)$(MANDIR)/man8/bustd.8
	install -D -m 0644 man/bustd-notify.1 $(DESTDIR)$(MANDIR)/man1/bustd-notify.1
	install -D -m 0644 dist/bustd-notify.desktop $(DESTDIR)$(SYSCONFDIR)/xdg/autostart/bustd-notify.desktop
	install -D -m 0644 dist/bustd-alerts.yml $(DESTDIR)$(PREFIX)/share/doc/bustd/examples/bustd-alerts.yml
	@if [ ! -e $(DESTDIR)$(SYSCONFDIR)/default/bustd ]; then \
		install -D -m 0644 dist/bustd.default $(DESTDIR)$(SYSCONFDIR)/default/bustd; \
	else echo "keeping $(DESTDIR)$(SYSCONFDIR)/default/bustd"; fi
	@mkdir -p $(DESTDIR)$(USERUNITDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@BINDIR@|$(BINDIR)|g' dist/bustd-notify.service.in > $(DESTDIR)$(USERUNITDIR)/bustd-notify.service
	sed 's|@BINDIR@|$(BINDIR)|g' dist/bustd.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/bustd.service
	chmod 0644 $(DESTDIR)$(USERUNITDIR)/bustd-notify.service $(DESTDIR)$(SYSTEMDUNITDIR)/bustd.service
	@echo "Installed. Start it with: systemctl daemon-reload && systemctl enable --now bustd"

uninstall:
	-systemctl disable --now bustd 2>/dev/null
	rm -f $(DESTDIR)$(BINDIR)/bustd $(DESTDIR)$(BINDIR)/bustd-notify
	rm -f $(DESTDIR)$(MANDIR)/man8/bustd.8 $(DESTDIR)$(MANDIR)/man1/bustd-notify.1
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/bustd.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/bustd/examples
	rm -f $(DESTDIR)$(SYSCONFDIR)/xdg/autostart/bustd-notify.desktop $(DESTDIR)$(USERUNITDIR)/bustd-notify.service
	@echo "$(DESTDIR)$(SYSCONFDIR)/default/bustd is kept (your settings); remove it by hand if you wish"

# The Debian packages bustd and bustd-notify, built with debhelper from
# debian/, into the parent directory (dpkg-buildpackage's place for them),
# then copied to dist-deb/ and checked with lintian.
deb:
	dpkg-buildpackage -b -us -uc
	@rm -rf dist-deb && mkdir -p dist-deb
	version=$$(dpkg-parsechangelog -S Version) && arch=$$(dpkg --print-architecture) && \
		cp ../bustd_$${version}_$${arch}.deb ../bustd-notify_$${version}_$${arch}.deb dist-deb/
	lintian --fail-on error dist-deb/*.deb

clean:
	rm -rf bin man dist-deb .build .build-embedded
