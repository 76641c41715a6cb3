// What bustd (root) tells its subscribers over the event socket, one JSON
// line per event (EventEncoding.swift, EventDecoding.swift). This file is
// the contract between the daemon and bustd-notify, so it stays plain data.
//
// Percentages are integer hundredths (1234 = 12.34 %): Embedded Swift
// cannot print floating point (see FixedPoint.swift).
// Text read from /proc (process names, command lines, executable paths) is
// kept as the raw bytes: whoever started the process chose them, and they
// need not be UTF-8. The encoder escapes them; invalid UTF-8 arrives as
// U+FFFD. Turn them into text with String(decoding: bytes, as: UTF8.self).

/// The version of the line format. A decoder rejects lines from a newer
/// version instead of misreading them.
public let protocolVersion = 1

public struct Event: Equatable, Sendable {
    /// Increases by one per event within a daemon instance: a gap means
    /// missed events, and a subscriber asks for replay from the last seen.
    public var sequence: UInt64
    /// Random per daemon start (see makeInstanceID): sequence numbers
    /// restart with the daemon, so a new instance means a new series.
    public var instance: String
    /// Wall-clock milliseconds since the Unix epoch.
    public var timeMs: Int64
    public var payload: Payload

    public init(sequence: UInt64, instance: String, timeMs: Int64, payload: Payload) {
        self.sequence = sequence
        self.instance = instance
        self.timeMs = timeMs
        self.payload = payload
    }

    public var type: EventType { payload.type }

    /// The uid whose process the event concerns, for the daemon's per-uid
    /// filtering; nil when it concerns no known process (hello, a warning
    /// without a would-be victim, a kernel OOM kill of an unknown process).
    public var subjectUID: UInt32? {
        switch payload {
        case .hello: nil
        case .kill(let kill): kill.uid
        case .killed(let killed): killed.uid
        case .killFailed(let failure): failure.uid
        case .warning(let warning): warning.victim?.uid
        case .kernelOOM(let oom): oom.uid
        }
    }

    /// 32 lowercase hex digits from 128 random bits: unique per daemon start.
    public static func makeInstanceID<G: RandomNumberGenerator>(using generator: inout G) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for _ in 0..<2 {
            let word = generator.next()
            for shift in stride(from: 60, through: 0, by: -4) {
                out.append(digits[Int((word >> UInt64(shift)) & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The "type" of an event line.
public enum EventType: String, Sendable {
    case hello
    case kill
    case killed
    case killFailed = "kill-failed"
    case warning
    case kernelOOM = "kernel-oom"
}

extension Event {
    public enum Payload: Equatable, Sendable {
        case hello(Hello)
        case kill(Kill)
        case killed(Killed)
        case killFailed(KillFailed)
        case warning(Warning)
        case kernelOOM(KernelOOM)

        public var type: EventType {
            switch self {
            case .hello: .hello
            case .kill: .kill
            case .killed: .killed
            case .killFailed: .killFailed
            case .warning: .warning
            case .kernelOOM: .kernelOOM
            }
        }
    }

    /// Which events a subscriber receives.
    public enum Scope: String, Sendable {
        /// Only events about its own uid's processes (unprivileged peers).
        case ownUID = "own-uid"
        case all
    }

    /// The rule that fired.
    public enum Rule: String, Sendable {
        case lowMemory = "low-memory"
        case pressure
    }

    /// Where the kernel's own OOM kills were counted.
    public enum KernelOOMSource: String, Sendable {
        case vmstat
        case memoryEvents = "memory.events"
    }

    /// The state of memory when a rule fired or a warning was raised.
    public struct Figures: Equatable, Sendable {
        public var availablePercent: Int
        public var swapFreePercent: Int
        /// PSI avg10; nil where the kernel has no PSI.
        public var pressurePercent: Int?
        /// The same figures in KiB. Added with the size thresholds (-M,
        /// -S): nil in lines from older daemons.
        public var availableKiB: Int64?
        public var swapFreeKiB: Int64?

        public init(
            availablePercent: Int, swapFreePercent: Int, pressurePercent: Int? = nil,
            availableKiB: Int64? = nil, swapFreeKiB: Int64? = nil
        ) {
            self.availablePercent = availablePercent
            self.swapFreePercent = swapFreePercent
            self.pressurePercent = pressurePercent
            self.availableKiB = availableKiB
            self.swapFreeKiB = swapFreeKiB
        }
    }

    /// The limits that applied, so a reader can tell how close memory
    /// came. Each is the lower of the percentage and the size given (-m
    /// and -M, -s and -S), in both units: the percentages of the total at
    /// that moment, and the same limits in KiB.
    public struct Thresholds: Equatable, Sendable {
        public var memoryTerminatePercent: Int
        public var memoryKillPercent: Int
        public var swapTerminatePercent: Int
        public var swapKillPercent: Int
        public var pressureCutoffPercent: Int
        /// Added with the size thresholds: nil in lines from older daemons.
        public var memoryTerminateKiB: Int64?
        public var memoryKillKiB: Int64?
        public var swapTerminateKiB: Int64?
        public var swapKillKiB: Int64?

        public init(
            memoryTerminatePercent: Int, memoryKillPercent: Int,
            swapTerminatePercent: Int, swapKillPercent: Int, pressureCutoffPercent: Int,
            memoryTerminateKiB: Int64? = nil, memoryKillKiB: Int64? = nil,
            swapTerminateKiB: Int64? = nil, swapKillKiB: Int64? = nil
        ) {
            self.memoryTerminatePercent = memoryTerminatePercent
            self.memoryKillPercent = memoryKillPercent
            self.swapTerminatePercent = swapTerminatePercent
            self.swapKillPercent = swapKillPercent
            self.pressureCutoffPercent = pressureCutoffPercent
            self.memoryTerminateKiB = memoryTerminateKiB
            self.memoryKillKiB = memoryKillKiB
            self.swapTerminateKiB = swapTerminateKiB
            self.swapKillKiB = swapKillKiB
        }
    }

    /// Sent first on every connection.
    public struct Hello: Equatable, Sendable {
        /// The daemon's bustdVersion. (The protocol version is every line's "v".)
        public var daemonVersion: String
        public var scope: Scope
        /// The connecting peer's uid, as the kernel reported it (SO_PEERCRED).
        public var peerUID: UInt32
        /// Sequence numbers still available for replay; nil when none are.
        public var retained: ClosedRange<UInt64>?

        public init(daemonVersion: String, scope: Scope, peerUID: UInt32, retained: ClosedRange<UInt64>?) {
            self.daemonVersion = daemonVersion
            self.scope = scope
            self.peerUID = peerUID
            self.retained = retained
        }
    }

    /// A victim was chosen and signalled (or, with dryRun, would have been).
    public struct Kill: Equatable, Sendable {
        public var pid: Int32
        public var uid: UInt32
        public var userName: String?
        public var processName: [UInt8]
        /// Arguments as the daemon chose to join them. The encoder sends at
        /// most maxCommandLineBytes of them and then sets the flag below.
        public var commandLine: [UInt8]
        /// Whether commandLine is a prefix: set it if the daemon read only
        /// part; the encoder sets it on the wire when it cuts.
        public var commandLineTruncated: Bool
        public var executablePath: [UInt8]?
        public var rssKiB: Int64
        public var swapKiB: Int64
        public var oomScore: Int
        public var oomScoreAdj: Int
        /// "SIGTERM" or "SIGKILL".
        public var signal: String
        public var rule: Rule
        public var figures: Figures
        public var thresholds: Thresholds
        public var dryRun: Bool
        /// The victim's cgroup ("/user.slice/.../app-gnome-firefox-1234.scope")
        /// and systemd unit ("app-gnome-firefox-1234.scope"), when known.
        /// Added after version 0.1 of the daemon: absent in older lines.
        public var cgroup: [UInt8]?
        public var unit: [UInt8]?

        public init(
            pid: Int32, uid: UInt32, userName: String?, processName: [UInt8],
            commandLine: [UInt8], commandLineTruncated: Bool = false, executablePath: [UInt8]?,
            rssKiB: Int64, swapKiB: Int64, oomScore: Int, oomScoreAdj: Int,
            signal: String, rule: Rule, figures: Figures, thresholds: Thresholds, dryRun: Bool,
            cgroup: [UInt8]? = nil, unit: [UInt8]? = nil
        ) {
            self.cgroup = cgroup
            self.unit = unit
            self.pid = pid
            self.uid = uid
            self.userName = userName
            self.processName = processName
            self.commandLine = commandLine
            self.commandLineTruncated = commandLineTruncated
            self.executablePath = executablePath
            self.rssKiB = rssKiB
            self.swapKiB = swapKiB
            self.oomScore = oomScore
            self.oomScoreAdj = oomScoreAdj
            self.signal = signal
            self.rule = rule
            self.figures = figures
            self.thresholds = thresholds
            self.dryRun = dryRun
        }
    }

    /// The victim of an earlier kill event exited.
    public struct Killed: Equatable, Sendable {
        public var pid: Int32
        public var uid: UInt32
        public var processName: [UInt8]
        /// From the first signal to the exit.
        public var timeToExitMs: Int64
        /// Change in available memory meanwhile; negative if other
        /// processes took more than the victim gave back.
        public var recoveredKiB: Int64
        /// "SIGTERM", "SIGKILL" or "SIGTERM, then SIGKILL".
        public var signals: String

        public init(
            pid: Int32, uid: UInt32, processName: [UInt8], timeToExitMs: Int64,
            recoveredKiB: Int64, signals: String
        ) {
            self.pid = pid
            self.uid = uid
            self.processName = processName
            self.timeToExitMs = timeToExitMs
            self.recoveredKiB = recoveredKiB
            self.signals = signals
        }
    }

    /// A kill that did not happen or did not finish.
    public struct KillFailed: Equatable, Sendable {
        public var pid: Int32
        public var uid: UInt32
        public var processName: [UInt8]
        public var reason: String

        public init(pid: Int32, uid: UInt32, processName: [UInt8], reason: String) {
            self.pid = pid
            self.uid = uid
            self.processName = processName
            self.reason = reason
        }
    }

    /// A process named in a warning.
    public struct Victim: Equatable, Sendable {
        public var pid: Int32
        public var uid: UInt32
        public var processName: [UInt8]

        public init(pid: Int32, uid: UInt32, processName: [UInt8]) {
            self.pid = pid
            self.uid = uid
            self.processName = processName
        }
    }

    /// Memory is close to a threshold; nothing was killed yet.
    public struct Warning: Equatable, Sendable {
        public var figures: Figures
        public var thresholds: Thresholds
        /// Who would be killed next, if a scan found someone.
        public var victim: Victim?

        public init(figures: Figures, thresholds: Thresholds, victim: Victim?) {
            self.figures = figures
            self.thresholds = thresholds
            self.victim = victim
        }

        /// What the low-memory rule still waits for: the figures above their
        /// SIGTERM limits. With swap, available memory is often gone first
        /// and free swap decides. (No swap, or swap ignored with a 100 %
        /// limit, never counts as waited for.) In KiB when the line has
        /// both sizes (a size limit's percentage is rounded), else in percent.
        public var awaits: (memory: Bool, swap: Bool) {
            func above(_ percent: Int, _ limitPercent: Int, _ kib: Int64?, _ limitKiB: Int64?) -> Bool {
                if let kib, let limitKiB { return kib > limitKiB }
                return percent > limitPercent
            }
            return (
                above(
                    figures.availablePercent, thresholds.memoryTerminatePercent,
                    figures.availableKiB, thresholds.memoryTerminateKiB),
                above(
                    figures.swapFreePercent, thresholds.swapTerminatePercent,
                    figures.swapFreeKiB, thresholds.swapTerminateKiB)
            )
        }
    }

    /// The kernel's OOM killer acted: bustd was too late or not in charge.
    public struct KernelOOM: Equatable, Sendable {
        /// New kernel OOM kills since the last look.
        public var count: UInt64
        public var source: KernelOOMSource
        public var pid: Int32?
        public var processName: [UInt8]?
        public var uid: UInt32?

        public init(
            count: UInt64, source: KernelOOMSource, pid: Int32? = nil,
            processName: [UInt8]? = nil, uid: UInt32? = nil
        ) {
            self.count = count
            self.source = source
            self.pid = pid
            self.processName = processName
            self.uid = uid
        }
    }
}
