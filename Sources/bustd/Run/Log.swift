import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// Severity, numbered as syslog(3) and journald number them.
enum LogLevel: Int32 {
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7
}

/// Where log lines go: syslog when daemonized, stderr with `<N>` priority
/// prefixes under systemd (journald reads them), plain lines on a terminal.
enum LogSink {
    case terminal
    case journal
    case syslog
}

enum Log {
    nonisolated(unsafe) static var sink: LogSink = .terminal
    nonisolated(unsafe) static var verbose = false

    /// Picks the sink: syslog for a daemon, journal when stderr is
    /// journald's stream (systemd sets JOURNAL_STREAM), else the terminal.
    static func configure(daemonized: Bool, verbose: Bool) {
        Log.verbose = verbose
        if daemonized {
            // Connect now, while /dev/log is reachable, not mid-emergency.
            _ = bustd_syslog_open()
            sink = .syslog
        } else if let stream = getenv("JOURNAL_STREAM"), stream.pointee != 0 {
            sink = .journal
            journal = JournalSocket.forStandardError()
        } else {
            sink = .terminal
        }
    }

    static func error(_ message: String) { write(.error, message) }
    static func warning(_ message: String) { write(.warning, message) }
    static func notice(_ message: String) { write(.notice, message) }
    static func info(_ message: String) { write(.info, message) }
    static func debug(_ message: String) { if verbose { write(.debug, message) } }

    /// While bustd rehearses its kill path at start, lines are composed
    /// (that is part of the rehearsal) but not written.
    nonisolated(unsafe) static var rehearsing = false
    nonisolated(unsafe) static var rehearsedBytes = 0

    /// journald's native socket, when stderr is journald's stream: every
    /// line then goes there as a record with fields (Log+Journal.swift).
    nonisolated(unsafe) static var journal: JournalSocket?

    static func write(_ level: LogLevel, _ message: String) {
        if journal != nil {
            record(level, nil, message) { _ in }
            return
        }
        writeLine(level, message)
    }

    /// The text line, to whichever sink is configured.
    static func writeLine(_ level: LogLevel, _ message: String) {
        if rehearsing {
            rehearsedBytes &+= message.utf8.count
            return
        }
        // Verbose lines carry the monotonic time (seconds since boot, to the
        // ms, as the kernel's log): a trace then shows when each look and
        // decision happened, whatever the sink adds or loses.
        let message = verbose ? monotonicStamp(bustd_monotonic_us()) + " " + message : message
        switch sink {
        case .syslog:
            bustd_syslog(level.rawValue, message)
        case .journal:
            writeStandardError("<\(level.rawValue)>" + message + "\n")
        case .terminal:
            let prefix: String
            switch level {
            case .error: prefix = "bustd: error: "
            case .warning: prefix = "bustd: warning: "
            default: prefix = "bustd: "
            }
            writeStandardError(prefix + message + "\n")
        }
    }
}

/// "[5012.345]": microseconds since boot as seconds, to the millisecond.
func monotonicStamp(_ microseconds: Int64) -> String {
    let milliseconds = max(0, microseconds) / 1000
    let fraction = milliseconds % 1000
    let padding = fraction < 10 ? "00" : fraction < 100 ? "0" : ""
    return "[\(milliseconds / 1000).\(padding)\(fraction)]"
}

/// Writes the whole string to fd 2, retrying short writes.
func writeStandardError(_ text: String) {
    writeAll(2, text)
}

func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 {
                if bustd_errno() == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// errno as text: "No such file or directory".
func errorText(_ error: Int32) -> String {
    String(cString: bustd_strerror(error))
}
