// The one line a client sends after connecting, before the daemon answers
// with hello and then events:
//
//   {"v":1,"type":"subscribe","since":41,"instance":"9f…"}
//
// Same framing and same rules as events: one JSON line, unknown keys
// ignored, a newer "v" refused.

public struct SubscribeRequest: Equatable, Sendable {
    /// The last sequence number the client saw: the daemon replays the
    /// retained events after it. nil: no replay, new events only.
    public var since: UInt64?
    /// The daemon instance `since` belongs to. If the daemon is another
    /// instance (it restarted) the numbers mean nothing there, and it
    /// replays nothing. nil: the client does not mind which instance.
    public var instance: String?

    public init(since: UInt64? = nil, instance: String? = nil) {
        self.since = since
        self.instance = instance
    }

    /// The request as one line of JSON ending in "\n".
    public func encodeLine() -> String {
        var writer = JSONLineWriter()
        writer.integer("v", protocolVersion)
        writer.text("type", "subscribe")
        writer.integer("since", since)
        writer.text("instance", instance)
        return writer.finishedLine()
    }

    /// Replays only when the client's numbers are this daemon's: the rule
    /// above, in one place, for the daemon to call.
    public func replaysFrom(daemonInstance: String) -> UInt64? {
        guard let since else { return nil }
        if let instance, instance != daemonInstance { return nil }
        return since
    }
}

/// Decodes the client's request line (with or without its "\n").
public func decodeSubscribeRequest(line: [UInt8]) throws(EventDecodingError) -> SubscribeRequest {
    let fields = try LineFields(line: line)
    let type = try fields.bytes("type")
    guard type == Array("subscribe".utf8) else {
        throw EventDecodingError(.unknownType, "expected a subscribe request, not type " + quoted(type))
    }
    return try SubscribeRequest(since: fields.optionalInteger("since"), instance: fields.optionalString("instance"))
}

public func decodeSubscribeRequest(line: String) throws(EventDecodingError) -> SubscribeRequest {
    try decodeSubscribeRequest(line: Array(line.utf8))
}
