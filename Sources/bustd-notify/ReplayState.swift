// What was already shown, so that replayed events are shown once: the
// daemon instance and the last sequence number seen, kept in memory and in
// $XDG_RUNTIME_DIR/bustd-notify.state (tmpfs, per user, gone at logout:
// exactly the lifetime over which "already shown" means something).
import Shared

struct LastSeen: Equatable {
    var instance: String
    var sequence: UInt64

    /// "INSTANCE SEQ\n".
    func encoded() -> String { instance + " \(sequence)\n" }

    /// nil for anything but one well-formed line (a damaged file means: start fresh).
    static func decode(_ text: String) -> LastSeen? {
        let fields = text.split(separator: " ")
        guard fields.count == 2, !fields[0].isEmpty, fields[0].count <= 64,
            fields[0].allSatisfy({ $0.isLetter || $0.isNumber })
        else { return nil }
        let number = fields[1].hasSuffix("\n") ? fields[1].dropLast() : fields[1]
        guard let sequence = UInt64(number) else { return nil }
        return LastSeen(instance: String(fields[0]), sequence: sequence)
    }
}

/// Decides what to ask the daemon for, and which events are new.
struct ReplayFilter {
    private(set) var lastSeen: LastSeen?
    /// --since, for the first connection only.
    private var requestedSince: UInt64?
    let maxAgeMs: Int64
    /// The newest sequence number the daemon had when this connection began:
    /// events up to it are replays.
    private var replayedThrough: UInt64?
    private var replayIgnoresAge = false
    private var currentInstance: String?

    init(lastSeen: LastSeen?, since: UInt64?, maxAgeMs: Int64) {
        self.lastSeen = lastSeen
        self.requestedSince = since
        self.maxAgeMs = maxAgeMs
    }

    /// The subscribe request to send after this hello. Same instance as last
    /// time: everything after the last seen. Another instance (a restart, or
    /// a first start): everything retained, then filtered by age.
    mutating func subscription(after hello: Event) -> SubscribeRequest {
        guard case .hello(let greeting) = hello.payload else { return SubscribeRequest() }
        currentInstance = hello.instance
        replayedThrough = greeting.retained?.upperBound
        replayIgnoresAge = false
        if let since = requestedSince {
            requestedSince = nil
            replayIgnoresAge = true
            // --since SEQ includes SEQ; the protocol's "since" is the last seen.
            return SubscribeRequest(since: since == 0 ? 0 : since - 1, instance: hello.instance)
        }
        if let lastSeen, lastSeen.instance == hello.instance {
            return SubscribeRequest(since: lastSeen.sequence, instance: hello.instance)
        }
        return SubscribeRequest(since: 0, instance: hello.instance)
    }

    enum Verdict: Equatable {
        /// Already shown (a replay overlapping what was seen).
        case duplicate
        /// A replay older than maxAgeMs.
        case tooOld
        /// New: show it; `replayed` when it happened before this connection.
        case show(replayed: Bool)
    }

    /// Judges an event of the current connection and remembers it as seen.
    mutating func judge(_ event: Event, nowMs: Int64) -> Verdict {
        if let lastSeen, lastSeen.instance == event.instance, event.sequence <= lastSeen.sequence {
            return .duplicate
        }
        lastSeen = LastSeen(instance: event.instance, sequence: event.sequence)
        let replayed = event.instance == currentInstance && replayedThrough.map { event.sequence <= $0 } == true
        if replayed && !replayIgnoresAge && nowMs - event.timeMs > maxAgeMs { return .tooOld }
        return .show(replayed: replayed)
    }
}

/// The state file: $XDG_RUNTIME_DIR/bustd-notify.state, nil without XDG_RUNTIME_DIR
/// (then nothing is kept across restarts; /tmp would be shared with others).
func defaultStatePath() -> String? {
    guard let directory = environment("XDG_RUNTIME_DIR"), directory.hasPrefix("/") else { return nil }
    return directory + "/bustd-notify.state"
}

func loadLastSeen(from path: String) -> LastSeen? {
    guard case .success(let bytes) = readSmallFile(path, limit: 256) else { return nil }
    return LastSeen.decode(String(decoding: bytes, as: UTF8.self))
}

func saveLastSeen(_ lastSeen: LastSeen, to path: String) -> SystemError? {
    writeFileAtomically(path, lastSeen.encoded())
}
