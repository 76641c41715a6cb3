// Shell glob matching with the semantics of glibc's fnmatch(pattern, text, 0)
// in the C locale, written in Swift because the libc one is costly in the
// static daemon: fnmatch links mbsrtowcs and the gconv machinery (it converts
// to wide characters in multibyte locales), which the daemon never needs.
//
// This follows glibc's own algorithm (posix/fnmatch_loop.c, narrow version,
// flags 0) step by step, quirks included, so a never-kill list means exactly
// what it meant with fnmatch:
// - `*` and `?` match any byte, `/` and a leading `.` included (flags 0);
// - `\x` matches x; a trailing `\` matches nothing;
// - `[...]`: `!` or `^` first negates, `]` first is literal, `a-z` ranges
//   compare byte values, `[:class:]`, `[=c=]` and `[.c.]` (one byte: the C
//   locale has no multi-character collating elements), `\` escapes; an
//   unterminated `[` is a literal `[`; an unknown class name makes the
//   pattern match nothing. (GlobList.parse rejects unbalanced brackets
//   before they get here; the quirks only matter for odd patterns.)
// `*` never backtracks into an earlier `*` (glibc's strategy too), so a match
// costs at most O(pattern × text).

struct Glob {
    let pattern: [UInt8]

    init(_ pattern: String) { self.pattern = Array(pattern.utf8) }

    func matches(_ text: [UInt8]) -> Bool {
        var matcher = GlobMatcher(pattern: pattern, text: text)
        if case .match = matcher.run(0, 0, stopAtStar: false) { return true }
        return false
    }
}

private enum GlobOutcome {
    case noMatch
    case match
    /// With stopAtStar: the pattern reached a `*` at pattern index, text index.
    case star(Int, Int)
}

private struct GlobMatcher {
    let pattern: [UInt8]
    let text: [UInt8]

    /// The pattern byte at i, or 0 past its end (the C string's terminator).
    @inline(__always) func pat(_ i: Int) -> UInt8 { i < pattern.count ? pattern[i] : 0 }

    /// The text byte at i (i < text.count); NULs read as spaces, as in the
    /// C strings handed to fnmatch before.
    @inline(__always) func txt(_ i: Int) -> UInt8 { text[i] == 0 ? 0x20 : text[i] }

    /// glibc's FCT: matches pattern from p against text from n to the end.
    /// With stopAtStar (glibc's `ends`), reaching a `*` ends the call early.
    mutating func run(_ start: Int, _ textStart: Int, stopAtStar: Bool) -> GlobOutcome {
        var p = start
        var n = textStart
        let end = text.count
        while true {
            var c = pat(p)
            if c == 0 { break }
            p += 1
            switch c {
            case ascii("?"):
                if n == end { return .noMatch }
            case ascii("\\"):
                c = pat(p)
                p += 1
                if c == 0 { return .noMatch }  // a trailing backslash loses
                if n == end || txt(n) != c { return .noMatch }
            case ascii("*"):
                if stopAtStar { return .star(p - 1, n) }
                c = pat(p)
                p += 1
                while c == ascii("?") || c == ascii("*") {
                    if c == ascii("?") {
                        if n == end { return .noMatch }
                        n += 1
                    }
                    c = pat(p)
                    p += 1
                }
                if c == 0 { return .match }
                // Try each start for the rest, up to its next `*`, and commit
                // to the first that works.
                var first = c
                if c == ascii("\\") { first = pat(p) }
                p -= 1
                var resumed = false
                while n < end {
                    if c == ascii("[") || txt(n) == first {
                        switch run(p, n, stopAtStar: true) {
                        case .match: return .match
                        case .star(let newP, let newN):
                            p = newP
                            n = newN
                            resumed = true
                        case .noMatch: break
                        }
                        if resumed { break }
                    }
                    n += 1
                }
                if resumed { continue }
                return .noMatch
            case ascii("["):
                switch bracket(&p, &n) {
                case .matched: break
                case .failed: return .noMatch
                case .literal:
                    if n == end || txt(n) != ascii("[") { return .noMatch }
                }
            default:
                if n == end || c != txt(n) { return .noMatch }
            }
            n += 1
        }
        return n == end ? .match : .noMatch
    }

    private enum BracketResult { case matched, failed, literal }

    /// A collating symbol `[.x.]`, with p at its `.`: the one byte it names
    /// (the C locale has no multi-character ones), p moved past `.]`; nil
    /// when it is unterminated or not one byte.
    private func collatingSymbol(_ p: inout Int) -> UInt8? {
        let start = p
        var length = 0
        while true {
            p += 1
            let c = pat(p)
            if c == ascii(".") && pat(p + 1) == ascii("]") {
                p += 2
                break
            }
            if c == 0 { return nil }
            length += 1
        }
        return length == 1 ? pat(start + 1) : nil
    }

    /// glibc's `[` case. p points just past the `[`; on .matched it points
    /// past the closing `]`. .literal: the `[` is unterminated and stands
    /// for itself (p is left after it).
    private func bracket(_ pp: inout Int, _ nn: inout Int) -> BracketResult {
        let pInit = pp
        var p = pp
        let n = nn
        if n == text.count { return .failed }
        let negated = pat(p) == ascii("!") || pat(p) == ascii("^")
        if negated { p += 1 }
        let fn = txt(n)
        var c = pat(p)
        p += 1
        var found = false
        scan: while true {
            var normal = false  // glibc's `goto normal_bracket`
            var rangeStart: UInt8? = nil
            if c == ascii("\\") {
                if pat(p) == 0 { return .failed }
                c = pat(p)
                p += 1
                normal = true
            } else if c == ascii("[") && pat(p) == ascii(":") {
                var name: [UInt8] = []
                let startp = p
                var isClass = true
                while true {
                    if name.count == 256 { return .failed }
                    p += 1
                    c = pat(p)
                    if c == ascii(":") && pat(p + 1) == ascii("]") {
                        p += 2
                        break
                    }
                    if c < ascii("a") || c >= ascii("z") {
                        p = startp
                        c = ascii("[")
                        normal = true
                        isClass = false
                        break
                    }
                    name.append(c)
                }
                if isClass {
                    guard let set = ByteSet.posixClass(name) else { return .failed }
                    if set.contains(fn) {
                        found = true
                        break scan
                    }
                    c = pat(p)
                    p += 1
                }
            } else if c == ascii("[") && pat(p) == ascii("=") {
                let startp = p
                p += 1
                c = pat(p)
                if c == 0 {
                    p = startp
                    c = ascii("[")
                    normal = true
                } else {
                    let single = c
                    p += 1
                    c = pat(p)
                    if c != ascii("=") || pat(p + 1) != ascii("]") {
                        p = startp
                        c = ascii("[")
                        normal = true
                    } else {
                        p += 2
                        if fn == single {
                            found = true
                            break scan
                        }
                        c = pat(p)
                        p += 1
                    }
                }
            } else if c == 0 {
                pp = pInit
                return .literal
            } else if c == ascii("[") && pat(p) == ascii(".") {
                guard let symbol = collatingSymbol(&p) else { return .failed }
                let isRange = pat(p) == ascii("-") && pat(p + 1) != 0
                if !isRange && fn == symbol {
                    found = true
                    break scan
                }
                rangeStart = symbol
                c = pat(p)
                p += 1
            } else {
                normal = true
            }
            if normal {
                let isRange = pat(p) == ascii("-") && pat(p + 1) != 0 && pat(p + 1) != ascii("]")
                if !isRange && c == fn {
                    found = true
                    break scan
                }
                rangeStart = c
                c = pat(p)
                p += 1
            }
            if let low = rangeStart, c == ascii("-") && pat(p) != ascii("]") {
                var high = pat(p)
                p += 1
                if high == ascii("[") && pat(p) == ascii(".") {
                    guard let symbol = collatingSymbol(&p) else { return .failed }
                    high = symbol
                } else {
                    if high == ascii("\\") {
                        high = pat(p)
                        p += 1
                    }
                    if high == 0 { return .failed }
                }
                if low <= fn && fn <= high {
                    found = true
                    break scan
                }
                c = pat(p)
                p += 1
            }
            if c == ascii("]") { break }
        }
        if !found {
            if !negated { return .failed }
            pp = p
            return .matched
        }
        // Skip the rest of the bracket that already matched.
        while true {
            c = pat(p)
            p += 1
            if c == ascii("]") { break }
            // Unterminated: glibc 2.36 then reads the `[` as a literal.
            if c == 0 {
                pp = pInit
                return .literal
            }
            if c == ascii("\\") {
                if pat(p) == 0 { return .failed }
                p += 1
            } else if c == ascii("[") && pat(p) == ascii(":") {
                var length = 0
                let startp = p
                while true {
                    p += 1
                    c = pat(p)
                    length += 1
                    if length == 256 { return .failed }
                    if pat(p) == ascii(":") && pat(p + 1) == ascii("]") { break }
                    if c < ascii("a") || c >= ascii("z") {
                        p = startp - 2
                        break
                    }
                }
                p += 2
            } else if c == ascii("[") && pat(p) == ascii("=") {
                p += 1
                if pat(p) == 0 { return .failed }
                p += 1
                if pat(p) != ascii("=") || pat(p + 1) != ascii("]") { return .failed }
                p += 2
            } else if c == ascii("[") && pat(p) == ascii(".") {
                while true {
                    p += 1
                    c = pat(p)
                    if c == 0 { return .failed }
                    if c == ascii(".") && pat(p + 1) == ascii("]") { break }
                }
                p += 2
            }
        }
        if negated { return .failed }
        pp = p
        return .matched
    }
}

@inline(__always) func ascii(_ scalar: Unicode.Scalar) -> UInt8 { UInt8(ascii: scalar) }

/// A set of bytes: bracket expressions and character classes.
struct ByteSet: Equatable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    static func == (a: ByteSet, b: ByteSet) -> Bool { a.words == b.words }

    @inline(__always) func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    mutating func insert(from low: UInt8, through high: UInt8) {
        guard low <= high else { return }
        for byte in low...high { insert(byte) }
    }

    mutating func formUnion(_ other: ByteSet) {
        words.0 |= other.words.0
        words.1 |= other.words.1
        words.2 |= other.words.2
        words.3 |= other.words.3
    }

    func inverted() -> ByteSet {
        var set = ByteSet()
        set.words = (~words.0, ~words.1, ~words.2, ~words.3)
        return set
    }

    /// A POSIX character class of the C locale (ASCII only), by name.
    static func posixClass(_ name: [UInt8]) -> ByteSet? {
        var set = ByteSet()
        func add(_ test: (UInt8) -> Bool) { for byte in UInt8(0)...UInt8(127) where test(byte) { set.insert(byte) } }
        let isUpper = { (b: UInt8) in b >= ascii("A") && b <= ascii("Z") }
        let isLower = { (b: UInt8) in b >= ascii("a") && b <= ascii("z") }
        let isDigit = { (b: UInt8) in b >= ascii("0") && b <= ascii("9") }
        let isGraph = { (b: UInt8) in b > 0x20 && b < 0x7f }
        func named(_ text: StaticString) -> Bool {
            text.utf8CodeUnitCount == name.count
                && name.withUnsafeBufferPointer {
                    $0.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
                }
        }
        if named("alpha") {
            add { isUpper($0) || isLower($0) }
        } else if named("digit") {
            add(isDigit)
        } else if named("alnum") {
            add { isUpper($0) || isLower($0) || isDigit($0) }
        } else if named("upper") {
            add(isUpper)
        } else if named("lower") {
            add(isLower)
        } else if named("space") {
            add { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0d) }
        } else if named("blank") {
            add { $0 == 0x20 || $0 == 0x09 }
        } else if named("punct") {
            add { isGraph($0) && !(isUpper($0) || isLower($0) || isDigit($0)) }
        } else if named("print") {
            add { $0 >= 0x20 && $0 < 0x7f }
        } else if named("graph") {
            add(isGraph)
        } else if named("cntrl") {
            add { $0 < 0x20 || $0 == 0x7f }
        } else if named("xdigit") {
            add { isDigit($0) || ($0 >= ascii("a") && $0 <= ascii("f")) || ($0 >= ascii("A") && $0 <= ascii("F")) }
        } else {
            return nil
        }
        return set
    }

    /// Word characters of \w, \b, \< and \>: alphanumerics and `_`.
    static func word() -> ByteSet {
        var set = posixClass(Array("alnum".utf8))!
        set.insert(ascii("_"))
        return set
    }
}
