// Process names and command lines are chosen by whoever started the process:
// they may hold quotes, backslashes, newlines, terminal escapes or invalid
// UTF-8. Everything bustd prints or sends passes through here.

/// Escapes bytes for a JSON string body (without the quotes): `"` and `\`
/// are backslash-escaped, control characters become \n, \t or \u00XX,
/// DEL becomes \u007f, and invalid UTF-8 becomes U+FFFD.
/// The result is valid JSON and safe to print on a terminal or in a log.
public func jsonEscaped<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 8)
    var index = bytes.startIndex
    while index != bytes.endIndex {
        let byte = bytes[index]
        if byte < 0x80 {
            appendEscapedASCII(byte, to: &out)
            index = bytes.index(after: index)
            continue
        }
        let length = validUTF8SequenceLength(bytes, at: index)
        if length == 0 {
            out.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD
            index = bytes.index(after: index)
        } else {
            for _ in 0..<length {
                out.append(bytes[index])
                index = bytes.index(after: index)
            }
        }
    }
    return String(decoding: out, as: UTF8.self)
}

public func jsonEscaped(_ text: String) -> String { jsonEscaped(Array(text.utf8)) }

/// `"escaped"`: for log lines, where a name must read as one token.
public func quoted<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    "\"" + jsonEscaped(bytes) + "\""
}

public func quoted(_ text: String) -> String { quoted(Array(text.utf8)) }

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

private func appendEscapedASCII(_ byte: UInt8, to out: inout [UInt8]) {
    switch byte {
    case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
    case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
    case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
    case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
    case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
    case 0x00..<0x20, 0x7F:
        out.append(contentsOf: [
            0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
            hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)],
        ])
    default: out.append(byte)
    }
}

/// Length (2...4) of the well-formed UTF-8 sequence starting at index, or 0.
/// Rejects overlong forms, surrogates and code points above U+10FFFF.
/// (Also used by the JSON line parser, which refuses invalid UTF-8.)
func validUTF8SequenceLength<C: Collection>(_ bytes: C, at index: C.Index) -> Int where C.Element == UInt8 {
    let lead = bytes[index]
    let length: Int
    var lowerBound: UInt8 = 0x80
    var upperBound: UInt8 = 0xBF
    switch lead {
    case 0xC2...0xDF: length = 2
    case 0xE0:
        length = 3
        lowerBound = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED:
        length = 3
        upperBound = 0x9F
    case 0xF0:
        length = 4
        lowerBound = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4:
        length = 4
        upperBound = 0x8F
    default: return 0
    }
    var position = bytes.index(after: index)
    for offset in 1..<length {
        guard position != bytes.endIndex else { return 0 }
        let byte = bytes[position]
        let low: UInt8 = offset == 1 ? lowerBound : 0x80
        let high: UInt8 = offset == 1 ? upperBound : 0xBF
        guard byte >= low && byte <= high else { return 0 }
        position = bytes.index(after: position)
    }
    return length
}
