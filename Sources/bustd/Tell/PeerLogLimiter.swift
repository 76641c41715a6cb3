/// Keeps peers from flooding bustd's log: every line about a peer (it
/// connected, was refused, was dropped...) counts against its user and the
/// kind of line. A few per minute pass; the rest are counted, and said in
/// one line when the next minute begins: "37 more lines like 'dropping
/// event peer' about uid 1000 in the last 60 s". One user opening thousands
/// of connections can then neither drown the log nor, under journald's own
/// rate limit, push bustd's kill lines out of it.
struct PeerLogLimiter {
    static let windowMs: Int64 = 60_000
    static let linesPerWindow = 3
    /// Distinct (kind, uid) pairs remembered; the oldest window goes first.
    static let keys = 256

    private struct Window {
        var kind: StaticString
        var uid: UInt32
        var startedMs: Int64
        var lines = 0
        var suppressed = 0
    }
    private var windows: [Window] = []

    /// Whether a line of this kind about uid may be logged now. Summaries
    /// of lines suppressed in a window that ended are written through say.
    mutating func allow(_ kind: StaticString, uid: UInt32, nowMs: Int64, say: (String) -> Void) -> Bool {
        flush(nowMs: nowMs, say: say)
        if let index = windows.firstIndex(where: { $0.uid == uid && $0.kind.utf8Start == kind.utf8Start }) {
            if windows[index].lines < PeerLogLimiter.linesPerWindow {
                windows[index].lines += 1
                return true
            }
            windows[index].suppressed += 1
            return false
        }
        if windows.count >= PeerLogLimiter.keys {
            let oldest = windows.indices.min { windows[$0].startedMs < windows[$1].startedMs } ?? 0
            report(windows[oldest], say: say)
            windows.remove(at: oldest)
        }
        windows.append(Window(kind: kind, uid: uid, startedMs: nowMs, lines: 1))
        return true
    }

    /// Ends the windows that are over, saying what they held back.
    mutating func flush(nowMs: Int64, say: (String) -> Void) {
        guard windows.contains(where: { nowMs - $0.startedMs >= PeerLogLimiter.windowMs }) else { return }
        for window in windows where nowMs - window.startedMs >= PeerLogLimiter.windowMs { report(window, say: say) }
        windows.removeAll { nowMs - $0.startedMs >= PeerLogLimiter.windowMs }
    }

    private func report(_ window: Window, say: (String) -> Void) {
        guard window.suppressed > 0 else { return }
        say(
            "\(window.suppressed) more line\(window.suppressed == 1 ? "" : "s") like '\(window.kind)' about uid \(window.uid) in the last \(PeerLogLimiter.windowMs / 1000) s"
        )
    }
}
