// A JSON object whose members may nest objects, read by the event
// socket's parser with its limits (maxLineBytes, maxNestingDepth, strict
// grammar, no trap on any input). bustd reads systemd's userdb replies with
// it: their user or group record sits two objects deep.

/// One parsed JSON object: look members up by key; a member of the wrong
/// kind reads as absent.
public struct JSONObject {
    let members: [String: JSONValue]

    /// Parses bytes holding exactly one JSON object (whitespace around it
    /// allowed); throws on anything else, or on more than maxLineBytes.
    public init(parsing bytes: [UInt8]) throws(EventDecodingError) {
        members = try parseJSONObjectLine(bytes, keepingNestedObjects: true)
    }

    init(members: [String: JSONValue]) { self.members = members }

    public func object(_ key: String) -> JSONObject? {
        guard case .object(let nested)? = members[key] else { return nil }
        return JSONObject(members: nested)
    }

    /// A string member (escapes resolved, valid UTF-8).
    public func string(_ key: String) -> String? {
        guard case .string(let bytes)? = members[key] else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func bool(_ key: String) -> Bool? {
        guard case .bool(let value)? = members[key] else { return nil }
        return value
    }

    /// A number member that is a whole number within UInt32 (a uid or gid);
    /// nil for fractions, exponents, negatives or anything larger.
    public func uint32(_ key: String) -> UInt32? {
        guard case .number(let text)? = members[key], !text.isEmpty else { return nil }
        var value: UInt32 = 0
        for byte in text {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (sum, carried) = times10.addingReportingOverflow(UInt32(byte - UInt8(ascii: "0")))
            guard !overflowed, !carried else { return nil }
            value = sum
        }
        return value
    }

    public func contains(_ key: String) -> Bool { members[key] != nil }
}
