import CBustd
import Shared

/// `bustd status [--socket PATH] [--json]`: asks the running daemon what it
/// sees (StatusClient) and prints it, for a person or as one JSON object.
/// A subcommand, not an option: it does not run a daemon, so none of the
/// daemon's options apply to it.
struct StatusCommand: Equatable {
    var socketPath = EventServer.defaultPath
    var json = false

    /// Parses what follows "status".
    static func parse(_ arguments: [String]) throws(OptionError) -> StatusCommand {
        var command = StatusCommand()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "--json": command.json = true
            case "--socket":
                guard index < arguments.count, !arguments[index].isEmpty else {
                    throw OptionError("option --socket needs a value (see bustd --help)")
                }
                command.socketPath = arguments[index]
                index += 1
            default:
                if argument.hasPrefix("--socket="), argument.count > "--socket=".count {
                    command.socketPath = String(argument.dropFirst("--socket=".count))
                    continue
                }
                throw OptionError(
                    "unknown argument \(quotedArgument(argument)) for 'bustd status': it takes --socket PATH and --json")
            }
        }
        return command
    }

    /// Returns the exit status: 0 with an answer, 1 without.
    func run() -> Int32 {
        switch StatusClient.ask(path: socketPath) {
        case .success(let status):
            writeAll(1, json ? status.encodeLine() : statusText(status, nowMs: bustd_realtime_ms()))
            return 0
        case .failure(let failure):
            writeStandardError("bustd status: \(failure.message)\n")
            return 1
        }
    }
}
