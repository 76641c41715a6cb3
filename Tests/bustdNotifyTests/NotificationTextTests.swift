import Shared
import Testing

@testable import bustd_notify

@Suite struct NotificationTextTests {
    private func victim(_ kill: Event.Kill, _ killed: Event.Killed? = nil) -> BurstVictim {
        BurstVictim(pid: kill.pid, name: kill.processName, kill: kill, killed: killed)
    }

    @Test func singleKillWithMemoryFreed() {
        let victims = [victim(Fixtures.kill(), Fixtures.killed())]
        #expect(NotificationText.killSummary(victims) == "bustd killed firefox (PID 4242)")
        #expect(
            NotificationText.killBody(victims)
                == "Available memory was 3 %, memory pressure 41 % (bustd acts at 10 % available). 2.1 GiB freed.")
    }

    @Test func beforeTheVictimExited() {
        let victims = [victim(Fixtures.kill(available: 350, pressure: nil))]
        #expect(NotificationText.killBody(victims) == "Available memory was 3.5 % (bustd acts at 10 % available).")
    }

    @Test func pressureRule() {
        let victims = [victim(Fixtures.kill(rule: .pressure, available: 1_800, pressure: 4_149))]
        #expect(
            NotificationText.killBody(victims)
                == "Available memory was 18 %, memory pressure 41 % (bustd acts at 25 % pressure).")
    }

    @Test func dryRun() {
        let victims = [victim(Fixtures.kill(dryRun: true))]
        #expect(NotificationText.killSummary(victims) == "bustd would kill firefox (PID 4242)")
        #expect(NotificationText.killBody(victims).hasSuffix("Dry run: nothing was signalled."))
    }

    @Test func memoryFormatting() {
        #expect(formatKiB(512) == "512 KiB")
        #expect(formatKiB(42_496) == "41.5 MiB")
        #expect(formatKiB(2_202_010) == "2.1 GiB")
        let victims = [victim(Fixtures.kill(), Fixtures.killed(recoveredKiB: -2048))]
        #expect(NotificationText.killBody(victims).hasSuffix("No memory came back yet."))
    }

    @Test func percentRounding() {
        #expect(formatPercent(0) == "0 %")
        #expect(formatPercent(349) == "3.5 %")
        #expect(formatPercent(999) == "10 %")
        #expect(formatPercent(4_149) == "41 %")
        #expect(formatPercent(4_150) == "42 %")
    }

    @Test func manyVictimsAreListedThenCounted() {
        let victims = (1...7).map { victim(Fixtures.kill(pid: Int32($0), name: "p\($0)")) }
        #expect(NotificationText.killSummary(victims) == "bustd killed 7 processes: p1, p2, p3, p4, p5 and 2 more")
    }

    /// Names are chosen by whoever started the process.
    @Test func hostileNamesCannotForgeOrMarkUp() {
        let hostile = "<b>x</b>&\n\u{1B}[31mfake\u{202E}gpj.exe\u{7F}"
        let name = displayName(Array(hostile.utf8))
        #expect(name == "<b>x</b>&??[31mfake?gpj.exe?")
        #expect(escapedMarkup(name) == "&lt;b&gt;x&lt;/b&gt;&amp;??[31mfake?gpj.exe?")
        #expect(markupFreeSummary(name) == "‹b›x‹/b›＆??[31mfake?gpj.exe?")
        #expect(displayName([0xFF, 0x41]) == "\u{FFFD}A")
        #expect(displayName([]) == "?")
        #expect(displayName(Array(String(repeating: "a", count: 100).utf8)).count == 65)
        let victims = [victim(Fixtures.kill(name: hostile))]
        #expect(!NotificationText.killSummary(victims).contains("\n"))
    }

    /// Every character Unicode marks as reordering or invisible is
    /// replaced: the whole code space is checked, not a list.
    @Test func everyBidiAndInvisibleCharacterIsReplaced() {
        var checked = 0
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let properties = scalar.properties
            guard properties.isBidiControl || properties.isDefaultIgnorableCodePoint else { continue }
            let shown = displayName(Array(String(Character(scalar)).utf8) + [0x61])
            #expect(shown == "?a", "U+\(String(value, radix: 16, uppercase: true)) shown as \(Array(shown.unicodeScalars))")
            checked += 1
        }
        #expect(checked > 4000, "only \(checked) characters: the property tables are missing")
        // The ones a hand list had forgotten, and their neighbours.
        for hidden: Unicode.Scalar in ["\u{061C}", "\u{200B}", "\u{200D}", "\u{2060}", "\u{FEFF}", "\u{180E}", "\u{E0041}", "\u{FE0F}"] {
            #expect(displayName(Array(String(Character(hidden)).utf8)) == "?")
        }
        // Ordinary text of any script stays as it is.
        for text in ["café", "日本語", "Ελληνικά", "עברית", "العربية", "emoji 🦊", "Web Content"] {
            #expect(displayName(Array(text.utf8)) == text)
        }
    }

    @Test func killFailedWarningAndKernelOOM() {
        let failed = NotificationText.killFailed(
            Event.KillFailed(
                pid: 7, uid: 1000, processName: Array("vim".utf8),
                reason: "pidfd_send_signal: EPERM"), slot: 1)
        #expect(failed.summary == "bustd could not kill vim (PID 7)")
        #expect(failed.body == "Reason: pidfd_send_signal: EPERM.")

        let warning = NotificationText.warning(
            Event.Warning(
                figures: Event.Figures(availablePercent: 1300, swapFreePercent: 0),
                thresholds: Fixtures.thresholds,
                victim: Event.Victim(pid: 4242, uid: 1000, processName: Array("firefox".utf8))), slot: 2)
        #expect(warning.summary == "Memory is low: 13 % available")
        #expect(warning.body == "bustd will stop firefox (PID 4242) if available memory drops to 10 %.")

        let oom = NotificationText.kernelOOM(
            Event.KernelOOM(
                count: 1, source: .vmstat, pid: 9,
                processName: Array("java".utf8), uid: 1000), slot: 3)
        #expect(oom.summary == "The kernel's OOM killer killed java (PID 9)")
        #expect(
            NotificationText.kernelOOM(Event.KernelOOM(count: 3, source: .vmstat), slot: 4).summary
                == "The kernel's OOM killer killed 3 processes")
    }

    /// With swap, the low-memory rule waits for free swap too: the texts
    /// name it (seen in the e2e guest: "0 % available ... if it drops to
    /// 10 %" while swap was what bustd waited for).
    @Test func swapIsNamedWhenItCounts() {
        func warning(available: Int, swap: Int, swapLimit: Int = 1000) -> NotificationContent {
            var thresholds = Fixtures.thresholds
            thresholds.swapTerminatePercent = swapLimit
            return NotificationText.warning(
                Event.Warning(
                    figures: Event.Figures(availablePercent: available, swapFreePercent: swap),
                    thresholds: thresholds, victim: Event.Victim(pid: 7, uid: 1000, processName: Array("hog".utf8))), slot: 1)
        }
        let swapLeft = warning(available: 0, swap: 1332)
        #expect(swapLeft.summary == "Memory is low: 0 % available, 13 % swap free")
        #expect(swapLeft.body == "bustd will stop hog (PID 7) if free swap drops to 10 %.")
        #expect(
            warning(available: 1400, swap: 1400).body
                == "bustd will stop hog (PID 7) if available memory drops to 10 % and free swap drops to 10 %.")
        // Swap ignored (-s 100): available memory alone.
        #expect(warning(available: 1400, swap: 5000, swapLimit: 10_000).summary == "Memory is low: 14 % available")
        #expect(warning(available: 900, swap: 900).body == "bustd will stop hog (PID 7) soon.")

        var kill = Fixtures.kill(name: "hog")
        kill.figures = Event.Figures(availablePercent: 0, swapFreePercent: 991, pressurePercent: 1785)
        #expect(
            NotificationText.why(kill)
                == "Available memory was 0 %, free swap 9.9 %, memory pressure 18 % (bustd acts at 10 % available and 10 % free swap).")
        kill.rule = .pressure
        #expect(NotificationText.why(kill) == "Available memory was 0 %, memory pressure 18 % (bustd acts at 25 % pressure).")
    }

    @Test func ageNote() {
        #expect(NotificationText.ageNote(eventTimeMs: 0, nowMs: 59_000) == nil)
        #expect(NotificationText.ageNote(eventTimeMs: 0, nowMs: 240_000) == "This happened 4 min ago.")
        #expect(NotificationText.ageNote(eventTimeMs: 0, nowMs: 7_300_000) == "This happened 2 h ago.")
    }
}

@Suite struct DesktopAppTests {
    @Test func applicationIDsFromAppUnits() {
        #expect(applicationID(ofUnit: "app-gnome-firefox-1234.scope") == "firefox")
        #expect(applicationID(ofUnit: "app-gnome-org.gnome.Terminal-5678.scope") == "org.gnome.Terminal")
        #expect(applicationID(ofUnit: "app-org.kde.konsole@0a1b2c.service") == "org.kde.konsole")
        #expect(applicationID(ofUnit: "app-flatpak-org.mozilla.firefox-99.scope") == "org.mozilla.firefox")
        #expect(applicationID(ofUnit: "app-gnome-gnome\\x2dcalculator-12.scope") == "gnome-calculator")
        #expect(applicationID(ofUnit: "app-firefox.service") == "firefox")
        for other in [
            "ssh.service", "session-3.scope", "init.scope", "app-.scope", "app-x", "apps-a-1.scope",
            "app-gnome-../../etc/passwd-1.scope",
        ] {
            #expect(applicationID(ofUnit: other) == nil, "\(other)")
        }
    }

    @Test func theAppNamesTheKillAndOthersStayAsTheyWere() {
        let app = DesktopApp(name: "Firefox", icon: "firefox")
        let named = BurstVictim(pid: 4242, name: Array("Web Content".utf8), kill: Fixtures.kill(pid: 4242, name: "Web Content"), app: app)
        #expect(NotificationText.killSummary([named]) == "bustd closed Firefox (Web Content, PID 4242)")
        let plain = BurstVictim(pid: 7, name: Array("vim".utf8), kill: Fixtures.kill(pid: 7, name: "vim"))
        #expect(NotificationText.killSummary([plain]) == "bustd killed vim (PID 7)")
        #expect(NotificationText.killSummary([named, plain]) == "bustd killed 2 processes: Firefox (Web Content), vim")
        // A desktop entry's name is the user's own file: shown as safely as a process name.
        let hostile = BurstVictim(pid: 1, name: Array("x".utf8), kill: nil, app: DesktopApp(name: "Fire\u{202E}fox\n", icon: nil))
        #expect(NotificationText.killSummary([hostile]) == "bustd closed Fire?fox? (x, PID 1)")
    }
}
