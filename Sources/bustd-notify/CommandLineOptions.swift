// The command line. Every config file key is also a flag (--KEY VALUE), and
// the flags are applied after the file, so they win.
import Shared

enum Mode: Equatable {
    case run
    case test
    case help
    case version
}

struct CommandLineOptions: Equatable {
    var mode = Mode.run
    /// Settings as (key, value) in command-line order, applied after the file.
    var settingOverrides: [(key: String, value: String)] = []
    /// --since: replay the current daemon instance's retained events from here.
    var since: UInt64?
    /// --config: a file instead of the default one; "none" for no file.
    var configPath: String?
    var verbose = false

    static func == (lhs: CommandLineOptions, rhs: CommandLineOptions) -> Bool {
        lhs.mode == rhs.mode && lhs.since == rhs.since && lhs.configPath == rhs.configPath
            && lhs.verbose == rhs.verbose
            && lhs.settingOverrides.map(\.key) == rhs.settingOverrides.map(\.key)
            && lhs.settingOverrides.map(\.value) == rhs.settingOverrides.map(\.value)
    }
}

struct UsageError: Error, Equatable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Parses the arguments (without the program name). Values may follow as
/// the next argument or after "=" (--timeout=20).
func parseCommandLine(_ arguments: [String]) throws(UsageError) -> CommandLineOptions {
    var options = CommandLineOptions()
    var index = 0
    func value(for flag: String, inline: String?) throws(UsageError) -> String {
        if let inline { return inline }
        index += 1
        guard index < arguments.count else { throw UsageError(flag + " needs a value") }
        return arguments[index]
    }
    while index < arguments.count {
        let argument = arguments[index]
        var flag = argument
        var inline: String?
        if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
            flag = String(argument[..<equals])
            inline = String(argument[argument.index(after: equals)...])
        }
        switch flag {
        case "-h", "--help": options.mode = .help
        case "--version": options.mode = .version
        case "--test": options.mode = .test
        case "-v", "--verbose": options.verbose = true
        case "--no-warnings": options.settingOverrides.append((key: "warnings", value: "no"))
        case "--config": options.configPath = try value(for: flag, inline: inline)
        case "--since":
            let text = try value(for: flag, inline: inline)
            guard let sequence = UInt64(text) else { throw UsageError("--since needs a sequence number, not " + quoted(text)) }
            options.since = sequence
        default:
            let key = String(flag.dropFirst(2))
            guard flag.hasPrefix("--"), Settings.keys.contains(key) else {
                throw UsageError("unknown option " + quoted(argument))
            }
            let text = try value(for: flag, inline: inline)
            // Checked now, so a typo stops the program before it runs.
            var scratch = Settings()
            if let refusal = scratch.apply(key: key, value: text) { throw UsageError(flag + ": " + refusal) }
            options.settingOverrides.append((key: key, value: text))
        }
        index += 1
    }
    return options
}
