import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// The one line `systemctl status bustd` shows (sd_notify's STATUS=):
/// "ok: 63% available", "low: 8% available, killed firefox (pid 123) 2 min
/// ago". Sent only when the state, the whole percent or the kill's age
/// changes, never more than once a second (a figure alone at most every
/// figureIntervalMs), so a look while memory is fine sends nothing.
///
/// It runs in the idle loop under systemd, so it allocates nothing after
/// init: the line is built in a buffer reserved here.
final class ServiceStatus {
    enum State: Equatable {
        /// No rule near.
        case ok
        /// Within the warning band of the low-memory rule.
        case low
        /// A rule fires.
        case critical

        var word: StaticString {
            switch self {
            case .ok: "ok"
            case .low: "low"
            case .critical: "critical"
            }
        }
    }

    /// What the line says, without the figure that only the send needs.
    private struct Key: Equatable {
        var state: State
        var percent: Int
        /// Minutes (below 60) or 100 + hours (below 24) since the last
        /// kill; -1 without one.
        var killAge: Int
    }

    static let minimumIntervalMs: Int64 = 1000
    static let figureIntervalMs: Int64 = 5000
    /// A kill is named for this long.
    static let killShownMs: Int64 = 24 * 3_600_000

    private let send: ([UInt8]) -> Int32
    private var line: [UInt8] = []
    /// What systemd shows now (without READY=1).
    private var shown: [UInt8] = []
    private var killName: [UInt8] = []
    private var killPID: Int32 = 0
    private var killMs: Int64?
    private var killWasDryRun = false
    private var sent: Key?
    private var sentMs: Int64?

    /// send gets "STATUS=...\0" (the first time "READY=1\nSTATUS=...\0").
    init(send: @escaping ([UInt8]) -> Int32 = ServiceStatus.notifySystemd) {
        self.send = send
        line.reserveCapacity(256)
        shown.reserveCapacity(256)
        killName.reserveCapacity(64)
    }

    /// When systemd waits for bustd's notifications ($NOTIFY_SOCKET).
    static var isWanted: Bool {
        guard let path = getenv("NOTIFY_SOCKET") else { return false }
        return path.pointee != 0
    }

    /// bustd_sd_notify's result: 1 sent, 0 no socket, -1 failed (errno).
    static func notifySystemd(_ line: [UInt8]) -> Int32 {
        line.withUnsafeBytes { bustd_sd_notify($0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
    }

    /// READY=1 with the first line, so `systemctl status` never shows
    /// the unit ready without one.
    func ready(_ state: State, percent: Int, nowMs: Int64) -> Int32 {
        sent = Key(state: state, percent: percent / 100, killAge: killAge(nowMs: nowMs))
        sentMs = nowMs
        build(state, availablePercent: percent, nowMs: nowMs, ready: true)
        let result = send(line)
        line.removeFirst(8)  // "READY=1\n"
        remember()
        return result
    }

    static func state(urgency: Urgency, approaching: Bool) -> State {
        urgency != .none ? .critical : approaching ? .low : .ok
    }

    /// After a look. percent: hundredths, what decides whether the line
    /// changed; available: the figure to show, asked only when sending (the
    /// idle look has only sysinfo's free RAM, which is not MemAvailable).
    func look(_ state: State, percent: Int, nowMs: Int64, available: () -> Int?) {
        let key = Key(state: state, percent: percent / 100, killAge: killAge(nowMs: nowMs))
        guard key != sent else { return }
        let figureOnly = sent.map { $0.state == key.state && $0.killAge == key.killAge } ?? false
        let wait = figureOnly ? ServiceStatus.figureIntervalMs : ServiceStatus.minimumIntervalMs
        if let sentMs, nowMs - sentMs < wait { return }
        sent = key
        build(state, availablePercent: available() ?? percent, nowMs: nowMs)
        // The trigger moved but not the figure shown (free RAM is not
        // MemAvailable): systemd already shows this line.
        guard line != shown else { return }
        sentMs = nowMs
        remember()
        _ = send(line)
    }

    private func remember() {
        shown.removeAll(keepingCapacity: true)
        shown.append(contentsOf: line)
    }

    /// A victim was signalled (or, in a dry run, would have been).
    func noteKill(name: [UInt8], pid: Int32, dryRun: Bool, nowMs: Int64) {
        killName.removeAll(keepingCapacity: true)
        killName.append(contentsOf: name.prefix(killName.capacity))
        killPID = pid
        killMs = nowMs
        killWasDryRun = dryRun
    }

    private func killAge(nowMs: Int64) -> Int {
        guard let killMs, nowMs - killMs < ServiceStatus.killShownMs else { return -1 }
        let minutes = Int((nowMs - killMs) / 60_000)
        return minutes < 60 ? minutes : 100 + minutes / 60
    }

    private func build(_ state: State, availablePercent: Int, nowMs: Int64, ready: Bool = false) {
        line.removeAll(keepingCapacity: true)
        if ready { append("READY=1\n") }
        append("STATUS=")
        append(state.word)
        append(": ")
        append(number: availablePercent / 100)
        append("% available")
        let age = killAge(nowMs: nowMs)
        if age >= 0 {
            append(killWasDryRun ? ", dry run: would have killed " : ", killed ")
            // One line, whatever the process named itself.
            for byte in killName { line.append(byte < 0x20 || byte == 0x7F ? UInt8(ascii: "?") : byte) }
            append(" (pid ")
            append(number: Int(killPID))
            append(") ")
            if age == 0 {
                append("less than a minute ago")
            } else {
                append(number: age < 100 ? age : age - 100)
                append(age < 100 ? " min ago" : " h ago")
            }
        }
        line.append(0)
    }

    private func append(_ text: StaticString) {
        text.withUTF8Buffer { line.append(contentsOf: $0) }
    }

    private func append(number: Int) {
        var value = max(0, number)
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        while divisor > 0 {
            line.append(UInt8(ascii: "0") + UInt8(value / divisor))
            value %= divisor
            divisor /= 10
        }
    }
}

extension Monitor {
    /// Tells systemd bustd is ready (sd_notify READY=1), with the state of
    /// memory now when systemd listens for a STATUS= line too.
    func notifyReady() -> Int32 {
        guard let serviceStatus, let memory = readMemory() else { return bustd_sd_notify("READY=1") }
        let urgency = decide(memory: memory, pressure: nil, pressureHeldMs: 0, config: config).urgency
        let state = ServiceStatus.state(urgency: urgency, approaching: isApproachingLowMemory(memory, config: config))
        return serviceStatus.ready(state, percent: memory.availablePercent, nowMs: bustd_monotonic_ms())
    }
}
