// A small, strict JSON parser for the event socket: one object per line.
// The notifier runs it on whatever arrives from the socket, so it must
// refuse anything odd with an error and never trap: every index is checked,
// recursion is bounded by maxNestingDepth, and numbers are kept as text
// until a field converts them with overflow checks (EventDecoding.swift).
// It also runs without Foundation and in Embedded Swift: no Double.

/// Longest line a decoder accepts, newline included. Encoded events stay
/// far below it (every text field is bounded, see maxTextFieldBytes).
public let maxLineBytes = 65_536

/// Deepest nesting of objects and arrays accepted (the line's object is 1).
public let maxNestingDepth = 32

/// A value of the line's object. Events are flat: a nested object or array
/// (which a later protocol version may add) is checked and then dropped.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    /// The number's text, already checked against JSON's grammar.
    case number([UInt8])
    /// The decoded string: valid UTF-8, escapes resolved.
    case string([UInt8])
    case nested
    /// A nested object's members, kept only when the caller asks for them
    /// (JSONObject: replies from systemd's userdb nest their record).
    case object([String: JSONValue])
}

/// Parses bytes holding one JSON object (surrounding whitespace, such as
/// the line's "\n", is allowed) into its keys and values.
func parseJSONObjectLine(_ line: [UInt8], keepingNestedObjects: Bool = false) throws(EventDecodingError)
    -> [String: JSONValue]
{
    guard line.count <= maxLineBytes else {
        throw EventDecodingError(.lineTooLong, "line longer than \(maxLineBytes) bytes")
    }
    var parser = JSONLineParser(bytes: line, keepingNestedObjects: keepingNestedObjects)
    return try parser.parseLine()
}

private struct JSONLineParser {
    let bytes: [UInt8]
    let keepingNestedObjects: Bool
    var position = 0

    init(bytes: [UInt8], keepingNestedObjects: Bool) {
        self.bytes = bytes
        self.keepingNestedObjects = keepingNestedObjects
    }

    mutating func parseLine() throws(EventDecodingError) -> [String: JSONValue] {
        skipWhitespace()
        guard current == UInt8(ascii: "{") else { throw malformed("expected a JSON object") }
        let object = try members(depth: 1)
        skipWhitespace()
        guard position == bytes.count else { throw malformed("unexpected data after the object") }
        return object
    }

    // MARK: Structure

    /// An object, from its "{". Duplicate keys are refused: two readers
    /// could otherwise disagree on which one counts.
    private mutating func members(depth: Int) throws(EventDecodingError) -> [String: JSONValue] {
        try enter(depth: depth)
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return object }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw malformed("expected a key in quotes") }
            let key = String(decoding: try string(), as: UTF8.self)
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { throw malformed("expected ':' after a key") }
            let member = try value(depth: depth)
            guard object[key] == nil else { throw malformed("duplicate key " + quoted(key)) }
            object[key] = member
            skipWhitespace()
            if consume(UInt8(ascii: "}")) { return object }
            guard consume(UInt8(ascii: ",")) else { throw malformed("expected ',' or '}'") }
        }
    }

    private mutating func elements(depth: Int) throws(EventDecodingError) {
        try enter(depth: depth)
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return }
        while true {
            _ = try value(depth: depth)
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return }
            guard consume(UInt8(ascii: ",")) else { throw malformed("expected ',' or ']'") }
        }
    }

    /// Steps over the opening bracket, refusing to go deeper than allowed
    /// (the limit is what bounds recursion).
    private mutating func enter(depth: Int) throws(EventDecodingError) {
        guard depth <= maxNestingDepth else {
            throw EventDecodingError(.tooDeeplyNested, "nested deeper than \(maxNestingDepth) levels at byte \(position)")
        }
        position += 1
    }

    /// A value inside a container of the given depth.
    private mutating func value(depth: Int) throws(EventDecodingError) -> JSONValue {
        skipWhitespace()
        guard let byte = current else { throw malformed("expected a value") }
        switch byte {
        case UInt8(ascii: "{"):
            let object = try members(depth: depth + 1)
            return keepingNestedObjects ? .object(object) : .nested
        case UInt8(ascii: "["):
            try elements(depth: depth + 1)
            return .nested
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default: throw malformed("expected a value")
        }
    }

    // MARK: Scalars

    private mutating func literal(_ word: String) throws(EventDecodingError) {
        for expected in word.utf8 {
            guard consume(expected) else { throw malformed("expected " + word) }
        }
    }

    /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, returned as text.
    private mutating func number() throws(EventDecodingError) -> [UInt8] {
        let start = position
        _ = consume(UInt8(ascii: "-"))
        if !consume(UInt8(ascii: "0")) {
            guard skipDigits() else { throw malformed("invalid number") }
        }
        if consume(UInt8(ascii: ".")) {
            guard skipDigits() else { throw malformed("invalid number") }
        }
        if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            guard skipDigits() else { throw malformed("invalid number") }
        }
        return Array(bytes[start..<position])
    }

    /// Skips [0-9]*; whether there was at least one digit.
    private mutating func skipDigits() -> Bool {
        let start = position
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
        return position > start
    }

    /// A string, from its opening quote, as UTF-8 bytes.
    private mutating func string() throws(EventDecodingError) -> [UInt8] {
        position += 1
        var out: [UInt8] = []
        while true {
            guard let byte = current else { throw malformed("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return out
            case UInt8(ascii: "\\"):
                try escape(into: &out)
            case 0x00..<0x20:
                throw malformed("control character in a string")
            case 0x80...:
                let length = validUTF8SequenceLength(bytes, at: position)
                guard length > 0 else { throw malformed("invalid UTF-8") }
                out.append(contentsOf: bytes[position..<(position + length)])
                position += length
            default:
                out.append(byte)
                position += 1
            }
        }
    }

    /// A backslash escape; \uXXXX may be a surrogate pair, never half of one.
    private mutating func escape(into out: inout [UInt8]) throws(EventDecodingError) {
        position += 1
        guard let letter = current else { throw malformed("unterminated string") }
        position += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(letter)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hexQuad()
            if scalar >= 0xDC00 && scalar <= 0xDFFF { throw malformed("lone low surrogate") }
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")) else {
                    throw malformed("lone high surrogate")
                }
                let low = try hexQuad()
                guard low >= 0xDC00 && low <= 0xDFFF else { throw malformed("lone high surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(scalar, to: &out)
        default:
            throw malformed("invalid escape")
        }
    }

    private mutating func hexQuad() throws(EventDecodingError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw malformed("unterminated \\u escape") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    // MARK: Bytes

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func consume(_ expected: UInt8) -> Bool {
        guard current == expected else { return false }
        position += 1
        return true
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private func malformed(_ what: String) -> EventDecodingError {
        EventDecodingError(.malformedJSON, "malformed JSON at byte \(position): " + what)
    }
}

/// A Unicode scalar (not a surrogate, at most U+10FFFF) as UTF-8.
private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | scalar >> 6))
        out.append(UInt8(0x80 | scalar & 0x3F))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | scalar >> 12))
        out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        out.append(UInt8(0x80 | scalar & 0x3F))
    default:
        out.append(UInt8(0xF0 | scalar >> 18))
        out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
        out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        out.append(UInt8(0x80 | scalar & 0x3F))
    }
}
