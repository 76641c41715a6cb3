import Shared

/// An event as kept for fan-out and replay: its sequence number, whose
/// process it concerns, and its encoded line (plus, for a warning that
/// names another user's process, a copy without that process).
struct RetainedEvent {
    var sequence: UInt64
    var subjectUID: UInt32?
    var line: [UInt8]
    var redactedLine: [UInt8]?
}

/// The last `capacity` events, in order. Peers read from it by sequence
/// number, so a slow peer costs a cursor, not a copy of its backlog, and a
/// notifier that reconnects after a kill can still ask for what it missed.
struct EventLog {
    /// How many events are kept for replay.
    static let capacity = 256

    private var ring: [RetainedEvent] = []
    private var start = 0
    /// The sequence number the next event gets (the first is 1).
    private(set) var nextSequence: UInt64 = 1

    init() { ring.reserveCapacity(EventLog.capacity) }

    var oldestSequence: UInt64? { ring.isEmpty ? nil : ring[start].sequence }
    var newestSequence: UInt64? { nextSequence > 1 && !ring.isEmpty ? nextSequence - 1 : nil }

    /// Numbers the event, keeps it, and returns it.
    mutating func append(_ make: (UInt64) -> RetainedEvent) -> RetainedEvent {
        let event = make(nextSequence)
        nextSequence += 1
        if ring.count < EventLog.capacity {
            ring.append(event)
        } else {
            ring[start] = event
            start = (start + 1) % EventLog.capacity
        }
        return event
    }

    /// The event with this sequence number, if still kept.
    func event(_ sequence: UInt64) -> RetainedEvent? {
        guard let oldest = oldestSequence, sequence >= oldest, sequence < nextSequence else { return nil }
        return ring[(start + Int(sequence - oldest)) % ring.count]
    }
}
