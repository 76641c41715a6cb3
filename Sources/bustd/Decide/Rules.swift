import Shared

/// What the rules ask for.
enum Urgency: Int, Comparable {
    case none = 0
    case terminate = 1
    case kill = 2

    static func < (lhs: Urgency, rhs: Urgency) -> Bool { lhs.rawValue < rhs.rawValue }

    var signalName: String { self == .kill ? "SIGKILL" : "SIGTERM" }
}

enum RuleName: Equatable {
    case lowMemory
    case pressure

    var name: String { self == .lowMemory ? "low-memory" : "pressure" }
}

struct Decision: Equatable {
    var urgency: Urgency
    var rule: RuleName?
    /// The figures and thresholds that fired, for the log and the event.
    var explanation: String

    static let healthy = Decision(urgency: .none, rule: nil, explanation: "")
}

struct RuleConfig {
    let memory: Limits
    let swap: Limits
    var pressureCutoff: Int
    var pressureMetric: PressureMetric
    var pressureDurationMs: Int
    /// The pressure rule acts only while available memory is at or below
    /// this: twice the SIGTERM threshold (Options.pressureGate).
    let pressureGate: Limit

    init(_ options: Options) {
        memory = options.memoryLimits
        swap = options.swapLimits
        pressureCutoff = options.pressureCutoff
        pressureMetric = options.pressureMetric
        pressureDurationMs = options.pressureDurationMs
        pressureGate = memory.terminate.scaled(2, over: 1)
        warningMemory = memory.terminate.scaled(3, over: 2)
        warningSwap = swap.terminate.scaled(3, over: 2)
        quickLookCeiling = memory.terminate.higher(pressureGate).higher(warningMemory)
    }

    /// Warnings start at one and a half times the SIGTERM thresholds.
    let warningMemory: Limit
    let warningSwap: Limit

    /// Above this much free RAM neither rule nor a warning can fire,
    /// whatever /proc/meminfo says: the sysinfo shortcut. (Stored: the
    /// idle loop reads it at every look.)
    let quickLookCeiling: Limit
}

/// How long memory pressure has stayed at or above the cutoff.
///
/// After a kill the stalls do not stop at once: the survivors fault back
/// in the pages the thrashing took from them, and avg10, a ten-second
/// average, stays above the cutoff for seconds after the stalls end. Either
/// would take a second process for the first one's pressure. So for
/// quietAfterKillMs after a kill the pressure rule does not count, and
/// then, until avg10 has fallen below the cutoff once, pressure counts only
/// while the share of time stalled between two looks (from the PSI total
/// counter) is at or above the cutoff as well. The low-memory rule is not
/// affected.
struct PressureTracker {
    /// avg10's own window.
    static let quietAfterKillMs: Int64 = 10_000

    private(set) var aboveSinceMs: Int64?
    private var afterKill = false
    private var quietUntilMs: Int64 = .min
    private var previousTotal: (ms: Int64, microseconds: UInt64)?

    /// A process was killed: the pressure that led to it must show anew.
    mutating func noteKill(nowMs: Int64) {
        afterKill = true
        quietUntilMs = nowMs + Self.quietAfterKillMs
        aboveSinceMs = nil
    }

    mutating func update(pressure: Int?, stallTotalMicroseconds: UInt64? = nil, cutoff: Int, nowMs: Int64) {
        let averageAbove = pressure.map { $0 >= cutoff } ?? false
        let share = stallShare(totalMicroseconds: stallTotalMicroseconds, nowMs: nowMs)
        if !averageAbove { afterKill = false }  // avg10 has caught up
        var above = averageAbove
        if nowMs < quietUntilMs {
            above = false
        } else if afterKill {
            above = averageAbove && (share.map { $0 >= cutoff } ?? false)
        }
        if above {
            if aboveSinceMs == nil { aboveSinceMs = nowMs }
        } else {
            aboveSinceMs = nil
        }
    }

    func heldMs(nowMs: Int64) -> Int64 { aboveSinceMs.map { nowMs - $0 } ?? 0 }

    /// Time stalled since the previous look, in hundredths of a percent of
    /// the time between; nil without two readings of the counter.
    private mutating func stallShare(totalMicroseconds: UInt64?, nowMs: Int64) -> Int? {
        defer { previousTotal = totalMicroseconds.map { (nowMs, $0) } }
        guard let totalMicroseconds, let previous = previousTotal, nowMs > previous.ms,
            totalMicroseconds >= previous.microseconds
        else { return nil }
        let elapsed = UInt64(nowMs - previous.ms) * 1000
        let stalled = min(totalMicroseconds - previous.microseconds, elapsed)
        return Int(stalled * 10_000 / elapsed)
    }
}

/// The two rules.
/// - low memory: available <= min-available AND swap free <= min-swap:
///   SIGTERM at the first thresholds, SIGKILL at the second. Each
///   threshold is a percentage, a size, or the lower of both (Limit).
/// - pressure: PSI avg10 >= cutoff, held for psi-duration, AND available
///   <= the gate (twice min-available): SIGTERM.
/// The stronger of the two wins.
func decide(memory status: MemoryStatus, pressure: Int?, pressureHeldMs: Int64, config: RuleConfig) -> Decision {
    var decision = Decision.healthy

    if status.availableReaches(config.memory.terminate) && status.swapFreeReaches(config.swap.terminate) {
        let kill = status.availableReaches(config.memory.kill) && status.swapFreeReaches(config.swap.kill)
        let memoryLimit = kill ? config.memory.kill : config.memory.terminate
        let swapLimit = kill ? config.swap.kill : config.swap.terminate
        decision = Decision(
            urgency: kill ? .kill : .terminate, rule: .lowMemory,
            explanation:
                "available memory \(status.availableText) <= \(memoryLimit.describe(totalKiB: status.totalKiB)) and free swap \(status.swapFreeText) <= \(swapLimit.describe(totalKiB: status.swapTotalKiB))"
        )
    }

    if decision.urgency == .none, let pressure, pressure >= config.pressureCutoff,
        pressureHeldMs >= Int64(config.pressureDurationMs), status.availableReaches(config.pressureGate)
    {
        decision = Decision(
            urgency: .terminate, rule: .pressure,
            explanation:
                "memory pressure (\(config.pressureMetric.name) avg10) \(formatHundredths(pressure))% >= \(formatHundredths(config.pressureCutoff))% for \(formatHundredths(Int(pressureHeldMs / 10)))s and available memory \(status.availableText) <= \(config.pressureGate.describe(totalKiB: status.totalKiB))"
        )
    }
    return decision
}

/// Memory is approaching the low-memory rule: both figures at or below one
/// and a half times their SIGTERM thresholds.
func isApproachingLowMemory(_ status: MemoryStatus, config: RuleConfig) -> Bool {
    status.availableReaches(config.warningMemory) && status.swapFreeReaches(config.warningSwap)
}
