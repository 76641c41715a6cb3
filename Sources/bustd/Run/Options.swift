// The command line, parsed by hand: swift-argument-parser needs Foundation
// and Codable, which the Embedded release build (the footprint goal) lacks.
import Shared

struct OptionError: Error, Equatable {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A SIGTERM threshold and a SIGKILL threshold, in hundredths of a percent.
struct Thresholds: Equatable {
    var terminate: Int
    var kill: Int
}

enum PressureMetric: Equatable {
    case some
    case full

    var name: String { self == .some ? "some" : "full" }
}

struct Options {
    var daemonize = true
    var verbose = false
    var killProcessGroup = false
    var dryRun = false
    var ignoreRootUser = false

    var memory = Thresholds(terminate: 1000, kill: 500)
    var swap = Thresholds(terminate: 1000, kill: 500)
    /// -M and -S; with them, whether -m and -s were given too (Limits).
    var memorySize: SizeThresholds?
    var swapSize: SizeThresholds?
    var memoryPercentGiven = false
    var swapPercentGiven = false
    /// -r: the report's interval; 0 is off.
    var reportIntervalMs = 0
    /// PSI cutoff in hundredths of a percent (avg10).
    var pressureCutoff = 2500
    var pressureMetric = PressureMetric.some
    var pressureDurationMs = 5000
    var graceMs = 2000
    var cooldownMs = 1000

    /// -u: names and executable paths never to kill.
    var neverKill = GlobList()
    /// --protect-unit: system units and cgroup paths never to kill.
    var protectUnits = GlobList()
    /// --kill-unit: kill the victim's whole app unit.
    var killUnit = false
    var prefer: String?
    var avoid: String?
    var scope: String?
    var pidFile: String?
    /// The event socket; nil means the default (none in a dry run).
    var socketPath: String?
    var socketGroup: String?

    /// --metrics-file: Prometheus metrics for node_exporter's textfile collector.
    var metricsFile: String?

    /// --pre-kill and --post-kill (Hooks).
    var preKill: HookCommand?
    var postKill: HookCommand?

    /// The pressure rule acts only while available memory is at or below
    /// this (twice the SIGTERM threshold): stalls with more memory free than
    /// that are page-cache churn, which killing would not cure.
    var pressureGate: Int { min(10_000, memory.terminate * 2) }

    /// The thresholds that apply, percentages and sizes combined.
    var memoryLimits: Limits { Limits(percent: memory, percentGiven: memoryPercentGiven, size: memorySize) }
    var swapLimits: Limits { Limits(percent: swap, percentGiven: swapPercentGiven, size: swapSize) }
}

enum Command {
    case run(Options)
    case help
    case version
    /// `bustd status`: ask the running daemon (StatusCommand).
    case status(StatusCommand)
}

/// Parses argv (without the program name). Accepts `--flag VALUE`,
/// `--flag=VALUE` and `-xVALUE`; short flags without values may be bundled.
func parseCommandLine(_ arguments: [String]) throws(OptionError) -> Command {
    var options = Options()
    if arguments.first == "status" { return .status(try StatusCommand.parse(Array(arguments.dropFirst()))) }

    var arguments = arguments
    var index = 0
    while index < arguments.count {
        var argument = arguments[index]
        index += 1
        var inlineValue: String?

        if argument == "--" { throw OptionError("unexpected argument '--': bustd takes no operands") }
        if argument.hasPrefix("--") {
            if let equals = argument.firstIndex(of: "=") {
                inlineValue = String(argument[argument.index(after: equals)...])
                argument = String(argument[..<equals])
            }
        } else if argument.hasPrefix("-") && argument.count > 2 {
            // -m10 or bundled -nV
            let flag = String(argument.prefix(2))
            let rest = String(argument.dropFirst(2))
            if shortFlagsTakingValues.contains(flag) {
                inlineValue = rest
                argument = flag
            } else {
                // A bundle: handle the first flag now, queue the others.
                argument = flag
                // A flag that takes a value ends the bundle: -nm10 is -n -m10.
                var queued: [String] = []
                var remaining = Substring(rest)
                while let character = remaining.first {
                    remaining = remaining.dropFirst()
                    let short = "-" + String(character)
                    if shortFlagsTakingValues.contains(short) {
                        queued.append(short + remaining)
                        break
                    }
                    queued.append(short)
                }
                arguments.insert(contentsOf: queued, at: index)
            }
        } else if !argument.hasPrefix("-") || argument == "-" {
            throw OptionError("unexpected argument \(quotedArgument(argument)): bustd takes no operands (see --help)")
        }

        func value() throws(OptionError) -> String {
            if let inlineValue { return inlineValue }
            guard index < arguments.count else { throw OptionError("option \(argument) needs a value (see --help)") }
            index += 1
            return arguments[index - 1]
        }
        func noValue() throws(OptionError) {
            if inlineValue != nil { throw OptionError("option \(argument) takes no value") }
        }

        switch argument {
        case "-h", "--help": return .help
        case "--version": return .version
        case "-n", "--no-daemon":
            try noValue()
            options.daemonize = false
        case "-V", "--verbose":
            try noValue()
            options.verbose = true
        case "-g", "--kill-pgroup":
            try noValue()
            options.killProcessGroup = true
        case "--dry-run":
            try noValue()
            options.dryRun = true
        case "--ignore-root-user":
            try noValue()
            options.ignoreRootUser = true
        case "-m", "--min-available":
            options.memory = try parseThresholds(try value(), option: argument)
            options.memoryPercentGiven = true
        case "-s", "--min-swap":
            options.swap = try parseThresholds(try value(), option: argument)
            options.swapPercentGiven = true
        case "-M", "--min-available-size": options.memorySize = try parseSizeThresholds(try value(), option: argument)
        case "-S", "--min-swap-size": options.swapSize = try parseSizeThresholds(try value(), option: argument)
        case "-r", "--report":
            let text = try value()
            let ms = try parseSeconds(text, option: argument, allowZero: true)
            // Below 0.1 s the report would wake bustd more often than it looks at memory.
            guard ms == 0 || ms >= PollInterval.minimumMs else {
                throw OptionError("invalid value \(quotedArgument(text)) for \(argument): expected 0 (off) or seconds from 0.1 to 3600")
            }
            options.reportIntervalMs = ms
        case "-p", "--psi":
            let text = try value()
            guard let cutoff = parseHundredths(text), cutoff > 0, cutoff <= 10_000 else {
                throw OptionError("invalid value \(quotedArgument(text)) for \(argument): expected a percentage above 0 and at most 100")
            }
            options.pressureCutoff = cutoff
        case "--psi-metric":
            let text = try value()
            switch text {
            case "some": options.pressureMetric = .some
            case "full": options.pressureMetric = .full
            default: throw OptionError("invalid value \(quotedArgument(text)) for --psi-metric: expected 'some' or 'full'")
            }
        case "--psi-duration": options.pressureDurationMs = try parseSeconds(try value(), option: argument, allowZero: true)
        case "--grace": options.graceMs = try parseSeconds(try value(), option: argument, allowZero: true)
        case "--cooldown": options.cooldownMs = try parseSeconds(try value(), option: argument, allowZero: true)
        case "-u", "--unkillables":
            switch GlobList.parse(try value()) {
            case .success(let list): options.neverKill.append(contentsOf: list)
            case .failure(let error): throw error
            }
        case "--protect-unit":
            switch GlobList.parse(try value()) {
            case .success(let list): options.protectUnits.append(contentsOf: list)
            case .failure(let error): throw error
            }
        case "--kill-unit":
            try noValue()
            options.killUnit = true
        case "--prefer": options.prefer = try nonEmpty(try value(), option: argument)
        case "--avoid": options.avoid = try nonEmpty(try value(), option: argument)
        case "--scope": options.scope = try nonEmpty(try value(), option: argument)
        case "--pidfile": options.pidFile = try nonEmpty(try value(), option: argument)
        case "--socket": options.socketPath = try nonEmpty(try value(), option: argument)
        case "--socket-group": options.socketGroup = try nonEmpty(try value(), option: argument)

        case "--metrics-file": options.metricsFile = try nonEmpty(try value(), option: argument)

        case "--pre-kill": options.preKill = try HookCommand.parse(try value(), option: argument)
        case "--post-kill": options.postKill = try HookCommand.parse(try value(), option: argument)

        default:
            throw OptionError("unknown option \(quotedArgument(argument)) (see --help)")
        }
    }
    return .run(options)
}

private let shortFlagsTakingValues: Set<String> = ["-m", "-s", "-M", "-S", "-p", "-u", "-r"]

/// "PCT" or "PCT,KILL_PCT"; KILL defaults to half of PCT and may not
/// exceed it (SIGKILL is for memory lower than the SIGTERM threshold).
func parseThresholds(_ text: String, option: String) throws(OptionError) -> Thresholds {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    guard parts.count == 1 || parts.count == 2 else {
        throw OptionError("invalid value \(quotedArgument(text)) for \(option): expected PERCENT or PERCENT,KILL_PERCENT")
    }
    guard let terminate = parseHundredths(parts[0]), terminate <= 10_000 else {
        throw OptionError("invalid value \(quotedArgument(String(parts[0]))) for \(option): expected a percentage from 0 to 100")
    }
    var kill = terminate / 2
    if parts.count == 2 {
        guard let value = parseHundredths(parts[1]), value <= 10_000 else {
            throw OptionError(
                "invalid value \(quotedArgument(String(parts[1]))) for \(option): expected a SIGKILL percentage from 0 to 100")
        }
        guard value <= terminate else {
            throw OptionError(
                "invalid value \(quotedArgument(text)) for \(option): the SIGKILL percentage (\(formatHundredths(value))) is above the SIGTERM percentage (\(formatHundredths(terminate)))"
            )
        }
        kill = value
    }
    return Thresholds(terminate: terminate, kill: kill)
}

/// Seconds with up to two decimals, returned in milliseconds.
func parseSeconds(_ text: String, option: String, allowZero: Bool) throws(OptionError) -> Int {
    guard let hundredths = parseHundredths(text), hundredths <= 360_000, allowZero || hundredths > 0 else {
        throw OptionError("invalid value \(quotedArgument(text)) for \(option): expected seconds from 0 to 3600, e.g. 0.5")
    }
    return hundredths * 10
}

private func nonEmpty(_ text: String, option: String) throws(OptionError) -> String {
    guard !text.isEmpty else { throw OptionError("option \(option) needs a non-empty value") }
    return text
}

/// An argument echoed back in an error, escaped so a hostile or binary
/// argument cannot garble the terminal.
func quotedArgument(_ text: String) -> String { quoted(text) }
