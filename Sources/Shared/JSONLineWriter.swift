// Writes one flat JSON object on one line. Keys come out in the order they
// are written, so lines read the same from one event to the next. Every
// string passes through jsonEscaped, so no raw control character (newline
// included) can reach the line, and every string field is bounded so a
// line always fits in maxLineBytes.

/// Longest string field the encoders send, in bytes before escaping. Even
/// escaped six-fold (\u00XX), an event's text fields stay far below
/// maxLineBytes. Command lines have their own, smaller, flagged bound.
public let maxTextFieldBytes = 1024

struct JSONLineWriter {
    private var line = "{"
    private var isEmpty = true

    mutating func integer<T: BinaryInteger>(_ key: String, _ value: T?) {
        writeKey(key)
        if let value { line += String(value) } else { line += "null" }
    }

    /// Hundredths as a JSON number: 350 -> 3.5.
    mutating func hundredths(_ key: String, _ value: Int?) {
        writeKey(key)
        if let value { line += formatHundredths(value) } else { line += "null" }
    }

    mutating func bool(_ key: String, _ value: Bool) {
        writeKey(key)
        line += value ? "true" : "false"
    }

    /// Bytes of unknown origin: escaped, invalid UTF-8 as U+FFFD.
    mutating func text(_ key: String, bytes: ArraySlice<UInt8>?) {
        writeKey(key)
        guard let bytes else {
            line += "null"
            return
        }
        line += "\"" + jsonEscaped(utf8Prefix(bytes, maxBytes: maxTextFieldBytes).prefix) + "\""
    }

    mutating func text(_ key: String, bytes: [UInt8]?) {
        text(key, bytes: bytes.map { $0[...] })
    }

    mutating func text(_ key: String, _ string: String?) {
        text(key, bytes: string.map { Array($0.utf8)[...] })
    }

    /// The object, closed, with the newline that ends the line.
    func finishedLine() -> String { line + "}\n" }

    private mutating func writeKey(_ key: String) {
        if !isEmpty { line += "," }
        isEmpty = false
        // Keys are literals from this module: plain ASCII, nothing to escape.
        line += "\"" + key + "\":"
    }
}

/// The longest prefix of at most maxBytes that does not end inside a UTF-8
/// sequence (so a cut never makes a U+FFFD out of a valid character), and
/// whether anything was cut.
func utf8Prefix(_ bytes: ArraySlice<UInt8>, maxBytes: Int) -> (prefix: ArraySlice<UInt8>, wasCut: Bool) {
    guard bytes.count > maxBytes else { return (bytes, false) }
    var end = bytes.startIndex + maxBytes
    // Back off over continuation bytes (10xxxxxx), at most 3: further back
    // the bytes were not valid UTF-8 anyway.
    var steps = 0
    while steps < 3, end > bytes.startIndex, bytes[end] & 0xC0 == 0x80 {
        end -= 1
        steps += 1
    }
    if bytes[end] & 0xC0 == 0x80 { end = bytes.startIndex + maxBytes }
    return (bytes[bytes.startIndex..<end], true)
}
