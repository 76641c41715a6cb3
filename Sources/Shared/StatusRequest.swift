// The status request: a client may send it on the event socket at any
// time, as its first line or later, as often as the daemon's rate allows:
//
//   {"v":1,"type":"status"}
//
// The daemon answers with one "status" line (DaemonStatus.swift), or with
// an "error" line when the peer asks too often (StatusRefusal). Events
// keep flowing on the same connection: a client skips the lines it did not
// ask for. Added in bustd 0.2.0; an older daemon ignores the line.

/// What a client's line asks for.
public enum ClientRequest: Equatable, Sendable {
    case subscribe(SubscribeRequest)
    case status
}

/// The status request as one line of JSON ending in "\n".
public func encodeStatusRequestLine() -> String {
    var writer = JSONLineWriter()
    writer.integer("v", protocolVersion)
    writer.text("type", "status")
    return writer.finishedLine()
}

/// Decodes any line a client may send (with or without its "\n").
public func decodeClientRequest(line: [UInt8]) throws(EventDecodingError) -> ClientRequest {
    let fields = try LineFields(line: line)
    let type = try fields.bytes("type")
    if type == Array("status".utf8) { return .status }
    if type == Array("subscribe".utf8) { return .subscribe(try decodeSubscribeRequest(line: line)) }
    throw EventDecodingError(.unknownType, "unknown request type " + quoted(type))
}

/// The answer to a status request the daemon did not serve:
///
///   {"v":1,"type":"error","request":"status","reason":"rate-limited","retry_after_ms":250}
public struct StatusRefusal: Equatable, Sendable {
    public var reason: String
    public var retryAfterMs: Int64

    public init(reason: String, retryAfterMs: Int64) {
        self.reason = reason
        self.retryAfterMs = retryAfterMs
    }

    public static let rateLimited = "rate-limited"

    public func encodeLine() -> String {
        var writer = JSONLineWriter()
        writer.integer("v", protocolVersion)
        writer.text("type", "error")
        writer.text("request", "status")
        writer.text("reason", reason)
        writer.integer("retry_after_ms", retryAfterMs)
        return writer.finishedLine()
    }
}
