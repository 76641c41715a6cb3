/// Whether the kill path's pages are kept resident and locked.
///
/// While memory is fine bustd runs one small loop (a sysinfo call or a
/// read of /proc/meminfo, then sleep), and only that loop's pages stay in
/// RAM: the rest of the program (the scan, the ranking, the kill, the
/// event) is dropped. Once memory comes near a rule, the kill path is made
/// ready: run once on bustd itself (Monitor.rehearseKillPath), which faults
/// its pages in and locks them (MCL_ONFAULT) while the machine still has
/// the memory to read them back, so the emergency never waits for a page
/// of bustd's own code. When memory has been fine again for a while, the
/// kill path's pages are dropped again.
///
/// Other work outside the idle loop (serving a peer of the event socket,
/// reporting a kernel OOM kill) leaves its pages resident too: they are
/// dropped a little after it, while the kill path is not ready.
struct KillReadiness {
    private(set) var isReady = false
    /// Since when nothing has needed the kill path ready.
    private var calmSinceMs: Int64?
    /// When pages of other work are due to be dropped.
    private var dropOtherWorkAtMs: Int64?

    /// Memory must stay fine this long before the kill path is dropped:
    /// a machine that just came back from the edge often goes back to it.
    static let dropAfterCalmMs: Int64 = 60_000
    /// Other work's pages are dropped this long after it (a peer that
    /// connects usually says its request at once, then only listens).
    static let dropOtherWorkAfterMs: Int64 = 10_000
    /// A forecast crossing within this time makes the kill path ready
    /// whatever the figures are now: memory falling fast.
    static let readyBeforeCrossingMs: Int64 = 10_000

    enum Change: Equatable {
        case makeReady
        case drop
    }

    /// Whether the figures of one look need the kill path ready: available
    /// memory at or below the quick look's ceiling (`belowCeiling`), a crossing
    /// forecast soon, the pressure rule counting, a victim still dying, or a
    /// rule firing.
    static func isNeeded(
        belowCeiling: Bool, forecastMs: Int64?,
        pressureCounting: Bool, victimsDying: Bool, urgency: Urgency
    ) -> Bool {
        if urgency != .none || victimsDying || pressureCounting { return true }
        if belowCeiling { return true }
        if let forecastMs, forecastMs <= readyBeforeCrossingMs { return true }
        return false
    }

    /// The change one look asks for, if any.
    mutating func update(needed: Bool, nowMs: Int64) -> Change? {
        if needed {
            calmSinceMs = nil
            dropOtherWorkAtMs = nil
            if isReady { return nil }
            isReady = true
            return .makeReady
        }
        guard isReady else {
            guard let due = dropOtherWorkAtMs, nowMs >= due else { return nil }
            dropOtherWorkAtMs = nil
            return .drop
        }
        guard let since = calmSinceMs else {
            calmSinceMs = nowMs
            return nil
        }
        guard nowMs - since >= KillReadiness.dropAfterCalmMs else { return nil }
        isReady = false
        calmSinceMs = nil
        return .drop
    }

    /// Work outside the idle loop ran: its pages are dropped a little
    /// later, unless the kill path is ready by then (its drop takes them).
    mutating func otherWorkRan(nowMs: Int64) {
        if !isReady && dropOtherWorkAtMs == nil { dropOtherWorkAtMs = nowMs + KillReadiness.dropOtherWorkAfterMs }
    }

    /// Called after the start-up rehearsal and drop: the kill path is not
    /// resident until a look needs it.
    mutating func dropped() {
        isReady = false
        calmSinceMs = nil
        dropOtherWorkAtMs = nil
    }
}
