// Plain lines on standard error: the journal (systemd user unit) or the
// session's log (XDG autostart) keeps them.
import Glibc

func log(_ message: String) {
    var line = "bustd-notify: " + message + "\n"
    line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

/// Logs a recurring condition once, and again only when it changes or ends,
/// so a missing daemon does not fill the journal every 30 seconds.
struct ConditionLog {
    private var current: String?

    mutating func report(_ message: String) {
        guard message != current else { return }
        current = message
        log(message)
    }

    /// The condition is over; `message` (if any) says so, when it was reported.
    mutating func clear(_ message: String? = nil) {
        if current != nil, let message { log(message) }
        current = nil
    }
}
