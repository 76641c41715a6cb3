# bustd: build, test and install. `make` builds the release binaries into
# bin/, `make test` runs the whole test suite, `make install` installs the
# binaries and the systemd unit. Missing Debian packages are installed first.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSTEMDUNITDIR ?= /etc/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
DESTDIR ?=
SWIFT ?= swift

# Debian packages the build and the tests need (python3 and util-linux's
# setpriv drive the integration tests; dbus, python3-dbus and python3-gi run
# bustd-notify's end-to-end tests against a fake notification server; Xvfb,
# dunst and imagemagick its screenshot).
BUILD_PACKAGES := libc6-dev libnotify-dev libdbus-1-dev pkg-config
TEST_PACKAGES := python3 util-linux procps dbus dbus-x11 python3-dbus python3-gi dunst xvfb imagemagick x11-apps

# The Embedded Swift runtime of the toolchain on PATH.
EMBEDDED_LIB := $(shell dirname "$$(dirname "$$(readlink -f "$$(command -v swiftc)")")")/lib/swift/embedded/$(shell uname -m)-unknown-linux-gnu

# The end-to-end proof in a QEMU guest (e2e/README.md).
E2E_PACKAGES := debootstrap qemu-system-x86 e2fsprogs gcc libc6-dev python3

.PHONY: all deps test-deps test run install uninstall clean bench e2e e2e-all e2e-systemd

all: bin/bustd bin/bustd-notify

deps:
	@./dist/ensure-packages $(BUILD_PACKAGES)

test-deps: deps
	@./dist/ensure-packages $(TEST_PACKAGES)

# The daemon: Embedded Swift, statically linked (see Package.swift).
bin/bustd: deps $(shell find Sources/bustd Sources/Shared Sources/CBustd -type f) Package.swift
	BUSTD_EMBEDDED=1 BUSTD_EMBEDDED_LIB="$(EMBEDDED_LIB)" $(SWIFT) build -c release --product bustd --scratch-path .build-embedded
	@mkdir -p bin
	cp .build-embedded/release/bustd bin/bustd
	strip bin/bustd

# The notifier: ordinary Swift with libnotify; the Swift runtime linked in,
# so it needs no toolchain at run time.
bin/bustd-notify: deps $(shell find Sources/bustd-notify Sources/CLibNotify Sources/CNotifySupport Sources/Shared -type f) Package.swift
	$(SWIFT) build -c release --product bustd-notify --static-swift-stdlib
	@mkdir -p bin
	cp .build/release/bustd-notify bin/bustd-notify
	strip bin/bustd-notify

# Builds, then watches this machine in the foreground without killing:
# the safe way to see what bustd would do. Ctrl-C stops it.
run: bin/bustd
	./bin/bustd --no-daemon --dry-run --verbose

test: test-deps
	$(SWIFT) test

bench: bin/bustd
	BUSTD_BIN=bin/bustd bench/footprint

# The default scenarios (single hog, zram, SIGTERM ignored, twelve growers); e2e-all runs
# every scenario. Each boots a 1 GiB guest; the first run builds its image.
e2e: bin/bustd bin/bustd-notify
	@./dist/ensure-packages $(E2E_PACKAGES)
	e2e/run --no-build

# The systemd guest (systemd as PID 1, a user manager for uid 1000): apps as
# units, ManagedOOMPreference, --kill-unit, memory.oom.group, app names.
e2e-systemd: bin/bustd bin/bustd-notify
	@./dist/ensure-packages $(E2E_PACKAGES)
	e2e/run --no-build apps-avoid kill-unit oom-group

e2e-all: bin/bustd bin/bustd-notify
	@./dist/ensure-packages $(E2E_PACKAGES)
	e2e/run --no-build single-hog zram ignore-term protected-largest forking-hog forking-hog-g pagecache pressure-rule no-psi growers-4 growers-12 growers-32 build apps-avoid kill-unit oom-group

install: all
	install -D -m 0755 bin/bustd $(DESTDIR)$(BINDIR)/bustd
	install -D -m 0755 bin/bustd-notify $(DESTDIR)$(BINDIR)/bustd-notify
	install -D -m 0644 dist/bustd-notify.desktop $(DESTDIR)/etc/xdg/autostart/bustd-notify.desktop
	@mkdir -p $(DESTDIR)$(USERUNITDIR)
	sed 's|/usr/local/bin|$(BINDIR)|g' dist/bustd-notify.service > $(DESTDIR)$(USERUNITDIR)/bustd-notify.service
	chmod 0644 $(DESTDIR)$(USERUNITDIR)/bustd-notify.service
	@mkdir -p $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@BINDIR@|$(BINDIR)|g' dist/bustd.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/bustd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/bustd.service
	@echo "Installed. Start it with: systemctl daemon-reload && systemctl enable --now bustd"

uninstall:
	-systemctl disable --now bustd 2>/dev/null
	rm -f $(DESTDIR)$(BINDIR)/bustd $(DESTDIR)$(BINDIR)/bustd-notify
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/bustd.service
	rm -f $(DESTDIR)/etc/xdg/autostart/bustd-notify.desktop $(DESTDIR)$(USERUNITDIR)/bustd-notify.service

clean:
	rm -rf bin .build .build-embedded
