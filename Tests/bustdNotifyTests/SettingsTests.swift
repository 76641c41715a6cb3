import Foundation
import Testing

@testable import bustd_notify

@Suite struct ConfigFileTests {
    @Test func goodFileSetsEverything() {
        var settings = Settings()
        let text = """
            # bustd-notify settings
            socket = /tmp/b.sock
              events = kill, kernel-oom   
            urgency-kill = normal
            urgency-kernel-oom=low
            timeout = 20.5
            icon =
            burst-window = 2
            replay-max-age = 60

            """
        let problems = applyConfig(text: text, path: "/home/a/.config/bustd/notify.conf", to: &settings)
        #expect(problems.isEmpty)
        #expect(settings.socketPath == "/tmp/b.sock")
        #expect(settings.enabledKinds == [.kill, .kernelOOM])
        #expect(settings.urgency(.kill) == .normal)
        #expect(settings.urgency(.kernelOOM) == .low)
        #expect(settings.urgency(.killFailed) == .critical)
        #expect(settings.timeout == .milliseconds(20_500))
        #expect(settings.icon == "")
        #expect(settings.burstWindowMs == 2_000)
        #expect(settings.replayMaxAgeMs == 60_000)
    }

    @Test func timeoutWords() {
        var settings = Settings()
        #expect(settings.apply(key: "timeout", value: "never") == nil)
        #expect(settings.timeout == .never)
        #expect(settings.apply(key: "timeout", value: "default") == nil)
        #expect(settings.timeout == .serverDefault)
    }

    @Test func warningsNoDropsOnlyWarnings() {
        var settings = Settings()
        #expect(settings.apply(key: "warnings", value: "no") == nil)
        #expect(settings.enabledKinds == [.kill, .killFailed, .kernelOOM])
    }

    /// Each kind of bad line: the message names the file and the line, the
    /// line is skipped (its setting keeps the default), later lines apply.
    @Test(arguments: [
        ("just words", "expected key = value"),
        ("= 5", "no key before '='"),
        ("timeout =", "no value for \"timeout\""),
        ("colour = red", "unknown setting \"colour\""),
        ("timeout = soon", "timeout must be seconds"),
        ("timeout = -1", "timeout must be seconds"),
        ("urgency-kill = extreme", "urgency-kill must be low, normal or critical"),
        ("events = kill, reboot", "unknown event type \"reboot\""),
        ("burst-window = 61", "burst-window must be seconds, 0 to 60"),
        ("socket = relative.sock", "socket must be an absolute path"),
        ("warnings = maybe", "warnings must be yes or no"),
    ])
    func badLineIsNamedAndSkipped(line: String, message: String) {
        var settings = Settings()
        let problems = applyConfig(text: "# first\n" + line + "\nicon = custom\n", path: "/etc/x.conf", to: &settings)
        #expect(problems.count == 1)
        #expect(problems.first?.line == 2)
        #expect(problems.first?.description.hasPrefix("/etc/x.conf line 2: ") == true)
        #expect(problems.first?.message.contains(message) == true, "\(problems)")
        var expected = Settings()
        expected.icon = "custom"
        #expect(settings == expected)
    }

    @Test func missingFileIsNoConfig() {
        #expect(readConfigFile("/nonexistent/bustd/notify.conf") == .absent)
    }
}

@Suite struct CommandLineTests {
    @Test func flagsBecomeSettingOverrides() throws {
        let options = try parseCommandLine(["--socket", "/s", "--no-warnings", "--timeout=3", "--since", "41", "-v"])
        #expect(options.mode == .run)
        #expect(options.since == 41)
        #expect(options.verbose)
        #expect(options.settingOverrides.map(\.key) == ["socket", "warnings", "timeout"])
        #expect(options.settingOverrides.map(\.value) == ["/s", "no", "3"])
    }

    @Test func modes() throws {
        #expect(try parseCommandLine(["--test"]).mode == .test)
        #expect(try parseCommandLine(["--help"]).mode == .help)
        #expect(try parseCommandLine(["-h"]).mode == .help)
        #expect(try parseCommandLine(["--version"]).mode == .version)
    }

    @Test(arguments: [
        (["--bogus"], "unknown option \"--bogus\""),
        (["extra"], "unknown option \"extra\""),
        (["--socket"], "--socket needs a value"),
        (["--since", "x"], "--since needs a sequence number, not \"x\""),
        (["--since", "-1"], "--since needs a sequence number"),
        (["--timeout", "0"], "--timeout: timeout must be seconds"),
        (["--urgency-warning", "loud"], "--urgency-warning: urgency-warning must be low, normal or critical"),
        (["--events=kill,nope"], "--events: unknown event type \"nope\""),
    ])
    func errors(arguments: [String], message: String) {
        #expect {
            _ = try parseCommandLine(arguments)
        } throws: { error in
            (error as? UsageError)?.description.hasPrefix(message) == true
        }
    }

    /// loadSettings is what main runs: the file, then the flags.
    @Test func flagsWinOverTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID()).conf").path
        try "timeout = 30\nicon = from-file\nburst-window = 3\n".write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var said: [String] = []
        let settings = loadSettings(
            try parseCommandLine(["--timeout", "5", "--config", path, "--burst-window=2"]), say: { said.append($0) })
        #expect(settings.timeout == .milliseconds(5_000), "the flag, not the file")
        #expect(settings.burstWindowMs == 2_000, "the flag, not the file")
        #expect(settings.icon == "from-file", "the file, where no flag says otherwise")
        #expect(said.isEmpty)
        // A FIFO at the path: reported, the defaults apply, nothing hangs.
        let fifo = path + ".fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let fromFIFO = loadSettings(try parseCommandLine(["--config", fifo]), say: { said.append($0) })
        #expect(fromFIFO.icon == Settings().icon)
        #expect(said.count == 1 && said[0].contains("not a regular file"), "\(said)")
    }

    /// One notifier per user: a second copy finds the lock held.
    @Test func aSecondCopyFindsTheLockHeld() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID()).lock").path
        defer { unlink(path) }
        #expect(InstanceLock.acquire(path: path))
        // flock is per open file: a second open in the same process stands
        // for a second copy.
        #expect(!InstanceLock.acquire(path: path))
        #expect(InstanceLock.acquire(path: nil), "no runtime directory: run")
    }

    @Test func helpNamesEveryKey() {
        for key in Settings.keys where key != "warnings" {
            #expect(helpText.contains("--" + key), "help lacks --\(key)")
        }
    }
}
