import Testing

@testable import Shared

@Suite struct TextEscapingTests {
    @Test func escapesQuotesBackslashesAndControls() {
        #expect(jsonEscaped(Array("a\"b\\c".utf8)) == #"a\"b\\c"#)
        #expect(jsonEscaped(Array("line\nnext\ttab\r".utf8)) == #"line\nnext\ttab\r"#)
        #expect(jsonEscaped([0x1B, 0x5B, 0x33, 0x31, 0x6D]) == #"\u001b[31m"#)
        #expect(jsonEscaped([0x00, 0x7F]) == #"\u0000\u007f"#)
    }

    @Test func keepsValidUTF8AndReplacesInvalid() {
        #expect(jsonEscaped(Array("héllo ✓ 😀".utf8)) == "héllo ✓ 😀")
        #expect(jsonEscaped([0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        #expect(jsonEscaped([0xC0, 0xAF]) == "\u{FFFD}\u{FFFD}")  // overlong '/'
        #expect(jsonEscaped([0xED, 0xA0, 0x80]) == "\u{FFFD}\u{FFFD}\u{FFFD}")  // surrogate
        #expect(jsonEscaped([0xE2, 0x9C]) == "\u{FFFD}\u{FFFD}")  // truncated
    }

    @Test func randomBytesAlwaysGivePrintableOutput() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let escaped = jsonEscaped(bytes)
            #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        }
    }
}
