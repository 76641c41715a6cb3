// Notifications waiting for the desktop (no bus or no server yet). Bounded:
// while the session is gone for long, the oldest are dropped, counted, and
// mentioned in the next one shown.

struct NotificationQueue {
    static let capacity = 32

    private(set) var waiting: [NotificationContent] = []
    private(set) var dropped = 0

    var isEmpty: Bool { waiting.isEmpty }
    var first: NotificationContent? { waiting.first }

    /// An update of a slot already waiting replaces it in place: only the
    /// latest text of a notification matters.
    mutating func enqueue(_ content: NotificationContent) {
        if let index = waiting.firstIndex(where: { $0.slot == content.slot }) {
            waiting[index] = content
            return
        }
        waiting.append(content)
        if waiting.count > Self.capacity {
            waiting.removeFirst()
            dropped += 1
        }
    }

    /// The next notification to show, with a note about dropped ones.
    var next: NotificationContent? {
        guard var content = waiting.first else { return nil }
        if dropped > 0 {
            content.body += " (\(dropped) older notification\(dropped == 1 ? " was" : "s were") dropped while the desktop was unreachable.)"
        }
        return content
    }

    /// The first was shown.
    mutating func removeFirst() {
        waiting.removeFirst()
        dropped = 0
    }
}
