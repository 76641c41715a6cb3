import Testing

@testable import bustd

@Suite struct OptionsTests {
    func error(_ arguments: [String]) -> String? {
        do {
            _ = try parseCommandLine(arguments)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func defaults() throws {
        let parsed = try options()
        #expect(parsed.daemonize && !parsed.dryRun && !parsed.killProcessGroup)
        #expect(parsed.memory == Thresholds(terminate: 1000, kill: 500))
        #expect(parsed.swap == Thresholds(terminate: 1000, kill: 500))
        #expect(parsed.pressureCutoff == 2500 && parsed.pressureMetric == .some)
        #expect(parsed.pressureDurationMs == 5000 && parsed.graceMs == 2000 && parsed.cooldownMs == 1000)
        // The built-in protections are rules on identity (Protection.swift),
        // not names: nothing is on the name list by default.
        #expect(parsed.neverKill.isEmpty && parsed.protectUnits.isEmpty && !parsed.killUnit)
    }

    @Test func everyFlagInEveryForm() throws {
        let parsed = try options(
            "-n", "-V", "-g", "--dry-run", "--ignore-root-user", "-m", "20,3", "--min-swap=15",
            "-p", "40.5", "--psi-metric", "full", "--psi-duration", "2.5", "--grace=0.5",
            "--cooldown", "3", "-u", "postgres|/opt/*", "--prefer", "^chrome", "--avoid=^ssh",
            "--scope", "/sys/fs/cgroup/x", "--pidfile", "/tmp/b.pid",
            "--protect-unit", "postgresql@*.service|/system.slice/db/*", "--kill-unit")
        #expect(!parsed.daemonize && parsed.verbose && parsed.killProcessGroup && parsed.dryRun && parsed.ignoreRootUser)
        #expect(parsed.memory == Thresholds(terminate: 2000, kill: 300))
        #expect(parsed.swap == Thresholds(terminate: 1500, kill: 750))
        #expect(parsed.pressureCutoff == 4050 && parsed.pressureMetric == .full)
        #expect(parsed.pressureDurationMs == 2500 && parsed.graceMs == 500 && parsed.cooldownMs == 3000)
        #expect(parsed.neverKill.matches(Array("postgres".utf8)))
        #expect(parsed.neverKill.matches(Array("/opt/app/bin".utf8)))
        #expect(parsed.protectUnits.matches(Array("postgresql@15-main.service".utf8)))
        #expect(parsed.protectUnits.matchesPath(Array("/system.slice/db/x".utf8)))
        #expect(!parsed.protectUnits.matchesPath(Array("postgresql@15-main.service".utf8)))
        #expect(parsed.killUnit)
        #expect(parsed.prefer == "^chrome" && parsed.avoid == "^ssh")
        #expect(parsed.scope == "/sys/fs/cgroup/x" && parsed.pidFile == "/tmp/b.pid")
        #expect(parsed.pressureGate == 4000)
    }

    @Test func attachedValuesAndBundles() throws {
        let parsed = try options("-nVm5", "-s20")
        #expect(!parsed.daemonize && parsed.verbose)
        #expect(parsed.memory == Thresholds(terminate: 500, kill: 250))
        #expect(parsed.swap == Thresholds(terminate: 2000, kill: 1000))
        #expect(try options("-gn").killProcessGroup)
    }

    @Test func helpAndVersion() throws {
        guard case .help = try parseCommandLine(["-n", "--help"]) else {
            Issue.record("no help")
            return
        }
        guard case .version = try parseCommandLine(["--version"]) else {
            Issue.record("no version")
            return
        }
        for flag in [
            "--min-available", "--min-swap", "--psi", "--psi-metric", "--psi-duration", "--grace", "--cooldown",
            "--unkillables", "--protect-unit", "--kill-unit", "--prefer", "--avoid", "--ignore-root-user", "--kill-pgroup", "--scope",
            "--dry-run",
            "--no-daemon", "--pidfile", "--verbose", "--version", "--help",
        ] {
            #expect(helpText.contains(flag), "help lacks \(flag)")
        }
    }

    @Test(arguments: [
        (["--bogus"], "unknown option \"--bogus\""),
        (["-x"], "unknown option \"-x\""),
        (["extra"], "unexpected argument \"extra\""),
        (["-m", "150"], "invalid value \"150\" for -m: expected a percentage from 0 to 100"),
        (["-m", "10,20"], "the SIGKILL percentage (20) is above the SIGTERM percentage (10)"),
        (["-m", "ten"], "invalid value \"ten\" for -m"),
        (["-m", "5,2,1"], "expected PERCENT or PERCENT,KILL_PERCENT"),
        (["-s", "-3"], "invalid value \"-3\" for -s"),
        (["-m"], "option -m needs a value"),
        (["-p", "0"], "expected a percentage above 0 and at most 100"),
        (["-p", "101"], "expected a percentage above 0 and at most 100"),
        (["--psi-metric", "most"], "expected 'some' or 'full'"),
        (["--grace", "forever"], "expected seconds from 0 to 3600"),
        (["--psi-duration", "9999"], "expected seconds from 0 to 3600"),
        (["-u", "a||b"], "empty pattern between '|'"),
        (["-u", "[abc"], "invalid glob \"[abc\": '[' without a closing ']'"),
        (["--prefer="], "option --prefer needs a non-empty value"),
        (["--dry-run=yes"], "option --dry-run takes no value"),
        (["--scope"], "option --scope needs a value"),
    ])
    func badInputGetsOneClearLine(arguments: [String], expected: String) {
        let message = error(arguments)
        #expect(message?.contains(expected) == true, "\(arguments): \(message ?? "accepted")")
        #expect(message?.contains("\n") == false)
    }

    @Test func hostileArgumentsAreEscapedInErrors() {
        let message = error(["--\u{1b}[31mred\nline"])
        #expect(message?.contains("\\u001b[31mred\\nline") == true)
    }

    @Test func badRegexAndMissingScopeFailBeforeRunning() {
        guard case .failure(let regexError) = Regex.compile("(unclosed") else {
            Issue.record("regex accepted")
            return
        }
        #expect(regexError.message.hasPrefix("invalid regular expression \"(unclosed\": "))
        guard case .failure(let scopeError) = CgroupScope.open("/nonexistent/cgroup") else {
            Issue.record("scope accepted")
            return
        }
        #expect(scopeError.message == "--scope \"/nonexistent/cgroup\": No such file or directory")
        guard case .failure(let notCgroup) = CgroupScope.open("/tmp") else {
            Issue.record("/tmp accepted")
            return
        }
        #expect(notCgroup.message.contains("not a cgroup v2 directory"))
    }
}
