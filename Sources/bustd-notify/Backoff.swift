// Retry delays: short after a blip, long while something stays away, and
// never zero, so a retry loop cannot spin.

struct Backoff: Equatable {
    let initialMs: Int64
    let maximumMs: Int64
    private(set) var nextMs: Int64

    init(initialMs: Int64, maximumMs: Int64) {
        self.initialMs = max(initialMs, 1)
        self.maximumMs = max(maximumMs, self.initialMs)
        nextMs = self.initialMs
    }

    /// The delay before the next try; each call doubles the following one.
    mutating func nextDelay() -> Int64 {
        defer { nextMs = min(nextMs * 2, maximumMs) }
        return nextMs
    }

    mutating func reset() { nextMs = initialMs }
}
