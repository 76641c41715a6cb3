// What the user can choose about notifications. Both the config file
// (ConfigFile.swift) and the command line (CommandLineOptions.swift) set
// these through `apply(key:value:)`, so a key means the same in both and
// is validated in one place.
import Shared

/// The kinds of notification, one per event type the user sees
/// (a kill and the killed event that follows it make one notification).
enum NotificationKind: String, CaseIterable, Sendable {
    case kill
    case killFailed = "kill-failed"
    case warning
    case kernelOOM = "kernel-oom"
}

enum Urgency: String, Sendable {
    case low, normal, critical
}

/// How long a notification stays: the server's choice, never expiring, or
/// this many milliseconds.
enum NotificationTimeout: Equatable, Sendable {
    case serverDefault
    case never
    case milliseconds(Int)
}

struct Settings: Equatable {
    static let defaultSocketPath = "/run/bustd/bustd.sock"

    var socketPath = Settings.defaultSocketPath
    var enabledKinds: Set<NotificationKind> = Set(NotificationKind.allCases)
    var urgencies: [NotificationKind: Urgency] = [
        .kill: .critical, .killFailed: .critical, .warning: .normal, .kernelOOM: .critical,
    ]
    var timeout = NotificationTimeout.milliseconds(15_000)
    /// A freedesktop icon name or an absolute path; empty for none.
    var icon = "dialog-warning"
    /// Kills this close together (by the daemon's clock) share one notification.
    var burstWindowMs = 1_000
    /// On a fresh start or after the daemon restarted, retained events older
    /// than this are not shown: old news would only alarm.
    var replayMaxAgeMs: Int64 = 600_000

    func urgency(_ kind: NotificationKind) -> Urgency { urgencies[kind] ?? .normal }

    /// The keys the config file and the flags (as --KEY VALUE) accept.
    static let keys = [
        "socket", "events", "warnings", "urgency-kill", "urgency-kill-failed", "urgency-warning",
        "urgency-kernel-oom", "timeout", "icon", "burst-window", "replay-max-age",
    ]

    /// Sets one key. Returns why the value is refused, or nil when taken.
    mutating func apply(key: String, value: String) -> String? {
        switch key {
        case "socket":
            guard value.hasPrefix("/") else { return "socket must be an absolute path" }
            socketPath = value
        case "events":
            var kinds: Set<NotificationKind> = []
            for name in value.split(separator: ",") {
                let trimmed = trimmedWhitespace(Substring(name))
                if trimmed == "none" { continue }
                if trimmed == "all" {
                    kinds.formUnion(NotificationKind.allCases)
                    continue
                }
                guard let kind = NotificationKind(rawValue: String(trimmed)) else {
                    return "unknown event type " + quoted(String(trimmed)) + " (expected " + kindList + ", all or none)"
                }
                kinds.insert(kind)
            }
            enabledKinds = kinds
        case "warnings":
            guard let on = parseYesNo(value) else { return "warnings must be yes or no" }
            if on { enabledKinds.insert(.warning) } else { enabledKinds.remove(.warning) }
        case "timeout":
            switch value {
            case "default": timeout = .serverDefault
            case "never": timeout = .never
            default:
                guard let hundredths = parseHundredths(value), hundredths > 0, hundredths <= 360_000 else {
                    return "timeout must be seconds (0.01 to 3600), default or never"
                }
                timeout = .milliseconds(hundredths * 10)
            }
        case "icon":
            icon = value
        case "burst-window":
            guard let hundredths = parseHundredths(value), hundredths <= 6_000 else {
                return "burst-window must be seconds, 0 to 60"
            }
            burstWindowMs = hundredths * 10
        case "replay-max-age":
            guard let hundredths = parseHundredths(value), hundredths <= 8_640_000 else {
                return "replay-max-age must be seconds, 0 to 86400"
            }
            replayMaxAgeMs = Int64(hundredths) * 10
        default:
            guard key.hasPrefix("urgency-"), let kind = NotificationKind(rawValue: String(key.dropFirst(8))) else {
                return "unknown setting " + quoted(key)
            }
            guard let urgency = Urgency(rawValue: value) else {
                return key + " must be low, normal or critical"
            }
            urgencies[kind] = urgency
        }
        return nil
    }
}

private let kindList = NotificationKind.allCases.map(\.rawValue).joined(separator: ", ")

private func parseYesNo(_ text: String) -> Bool? {
    switch text {
    case "yes", "true", "on", "1": true
    case "no", "false", "off", "0": false
    default: nil
    }
}

func trimmedWhitespace(_ text: Substring) -> Substring {
    var result = text
    while let first = result.first, first == " " || first == "\t" || first == "\r" { result.removeFirst() }
    while let last = result.last, last == " " || last == "\t" || last == "\r" { result.removeLast() }
    return result
}
