/// User names for events, remembered for a while: a kill storm names the
/// same few uids many times, and each userdb call may cost up to its
/// timeout. Bounded, so that a machine with many users cannot grow it.
/// Names are looked up only when an event is composed (after the signal),
/// never while deciding; an unknown name is remembered too, so a failing
/// userdb is asked once per uid and TTL, not once per event.
final class UserNameCache {
    static let defaultCapacity = 256
    static let defaultTTLMs: Int64 = 60_000

    private struct Entry {
        var name: String?
        var storedAtMs: Int64
    }

    let capacity: Int
    let ttlMs: Int64
    private let lookUp: (UInt32) -> String?
    private var entries: [UInt32: Entry] = [:]

    init(
        capacity: Int = UserNameCache.defaultCapacity, ttlMs: Int64 = UserNameCache.defaultTTLMs,
        lookUp: @escaping (UInt32) -> String? = { UserDatabase.userName(uid: $0) }
    ) {
        self.capacity = max(capacity, 1)
        self.ttlMs = ttlMs
        self.lookUp = lookUp
    }

    var count: Int { entries.count }

    func name(uid: UInt32, nowMs: Int64) -> String? {
        if let entry = entries[uid], nowMs - entry.storedAtMs < ttlMs { return entry.name }
        let name = lookUp(uid)
        if entries[uid] == nil && entries.count >= capacity { makeRoom(nowMs: nowMs) }
        entries[uid] = Entry(name: name, storedAtMs: nowMs)
        return name
    }

    /// Drops the expired entries, or when none has expired the oldest one.
    private func makeRoom(nowMs: Int64) {
        entries = entries.filter { nowMs - $0.value.storedAtMs < ttlMs }
        guard entries.count >= capacity, let oldest = entries.min(by: { $0.value.storedAtMs < $1.value.storedAtMs }) else {
            return
        }
        entries[oldest.key] = nil
    }
}
