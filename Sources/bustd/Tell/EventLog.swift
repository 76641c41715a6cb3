import Shared

/// An event as kept for fan-out and replay: its sequence number, whose
/// process it concerns, and its encoded line (plus, for a warning that
/// names another user's process, a copy without that process).
struct RetainedEvent {
    var sequence: UInt64
    var subjectUID: UInt32?
    var line: [UInt8]
    var redactedLine: [UInt8]?
    /// Where the digits of "seq" sit in line (and in redactedLine), so a
    /// peer that numbers events its own way gets the same line with its
    /// number spliced in, without the event being kept a second time.
    var sequenceDigits: Range<Int>? = nil
    var redactedSequenceDigits: Range<Int>? = nil
    /// Events every peer sees (subjectUID nil, or a redacted copy) up to
    /// and including this one; and, for an event only its subject's user
    /// sees, that user's such events up to and including it.
    var publicOrdinal: UInt64 = 0
    var privateOrdinal: UInt64 = 0

    /// Whether a peer that sees only its own user's events gets this one.
    func isVisible(to uid: UInt32) -> Bool { subjectUID == nil || subjectUID == uid || redactedLine != nil }
    var isPublic: Bool { subjectUID == nil || redactedLine != nil }
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

    /// Events every peer sees, and per user those only that user sees.
    private var publicTotal: UInt64 = 0
    private var privateTotals: [UInt32: UInt64] = [:]

    /// Numbers the event, keeps it, and returns it.
    mutating func append(_ make: (UInt64) -> RetainedEvent) -> RetainedEvent {
        var event = make(nextSequence)
        nextSequence += 1
        if event.isPublic {
            publicTotal += 1
        } else if let uid = event.subjectUID {
            privateTotals[uid, default: 0] += 1
            event.privateOrdinal = privateTotals[uid] ?? 0
        }
        event.publicOrdinal = publicTotal
        if ring.count < EventLog.capacity {
            ring.append(event)
        } else {
            ring[start] = event
            start = (start + 1) % EventLog.capacity
        }
        return event
    }

    // A peer that sees only its own user's events gets them numbered by
    // that user's count, 1, 2, 3...: the global sequence numbers, with
    // their gaps, would tell it how many events other users had.

    /// How many events a user's own peers have been able to see so far:
    /// the number of the newest in that user's numbering.
    func visibleTotal(uid: UInt32) -> UInt64 { publicTotal + (privateTotals[uid] ?? 0) }

    /// The retained events a user's own peers see, in that user's numbering.
    func visibleRange(uid: UInt32) -> ClosedRange<UInt64>? {
        let visible = UInt64(ring.reduce(0) { $0 + ($1.isVisible(to: uid) ? 1 : 0) })
        guard visible > 0 else { return nil }
        let newest = visibleTotal(uid: uid)
        return (newest - visible + 1)...newest
    }

    /// Where a user's peer that last saw `since` (in its numbering) picks
    /// up: the sequence number of the next retained event it sees, and the
    /// number in its own numbering just before that. nil when nothing
    /// retained comes after `since`.
    func resumePoint(uid: UInt32, since: UInt64) -> (sequence: UInt64, visibleBefore: UInt64)? {
        var number = visibleTotal(uid: uid)
        var point: (UInt64, UInt64)?
        for offset in stride(from: ring.count - 1, through: 0, by: -1) {
            let event = ring[(start + offset) % ring.count]
            guard event.isVisible(to: uid) else { continue }
            if number <= since { break }
            point = (event.sequence, number - 1)
            number -= 1
        }
        return point
    }

    /// The event with this sequence number, if still kept.
    func event(_ sequence: UInt64) -> RetainedEvent? {
        guard let oldest = oldestSequence, sequence >= oldest, sequence < nextSequence else { return nil }
        return ring[(start + Int(sequence - oldest)) % ring.count]
    }
}

/// The byte range of the number after `"seq":` in an encoded line.
func sequenceDigits(in line: [UInt8]) -> Range<Int>? {
    let key = Array("\"seq\":".utf8)
    guard line.count > key.count else { return nil }
    for start in 0...(line.count - key.count) where line[start] == key[0] && Array(line[start..<(start + key.count)]) == key {
        var end = start + key.count
        while end < line.count, line[end] >= 0x30, line[end] <= 0x39 { end += 1 }
        return (start + key.count)..<end
    }
    return nil
}

/// line with its "seq" number replaced.
func renumbered(_ line: [UInt8], digits: Range<Int>?, sequence: UInt64) -> [UInt8] {
    guard let digits else { return line }
    return Array(line[..<digits.lowerBound]) + Array("\(sequence)".utf8) + Array(line[digits.upperBound...])
}
