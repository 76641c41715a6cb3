/// How often one peer may ask for the status: a token bucket of `burst`
/// requests, refilled by one every `refillMs` (4 at once, then 4 a second).
/// Enough for a person, a `watch bustd status` or a monitoring probe; a
/// peer that asks in a loop gets refusals, not the daemon's time (each
/// answer reads /proc/meminfo, and may scan for the first candidate).
struct StatusRateLimit {
    static let burst = 4
    static let refillMs: Int64 = 250

    private var tokens = StatusRateLimit.burst
    private var lastRefillMs: Int64?

    /// Takes a token if there is one. Returns nil when the request may be
    /// served, else the wait in ms until one will be.
    mutating func take(nowMs: Int64) -> Int64? {
        if let last = lastRefillMs {
            let earned = (nowMs - last) / StatusRateLimit.refillMs
            if earned > 0 {
                tokens = min(StatusRateLimit.burst, tokens + Int(min(earned, Int64(StatusRateLimit.burst))))
                lastRefillMs = tokens == StatusRateLimit.burst ? nowMs : last + earned * StatusRateLimit.refillMs
            }
        } else {
            lastRefillMs = nowMs
        }
        guard tokens > 0 else { return max(1, StatusRateLimit.refillMs - (nowMs - (lastRefillMs ?? nowMs))) }
        tokens -= 1
        return nil
    }
}
