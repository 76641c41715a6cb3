import Glibc
import Testing

@testable import bustd

/// The hand-written matchers (RegularExpression.swift, Glob.swift) against
/// tables, against hostile patterns, and differentially against glibc's
/// regcomp/regexec and fnmatch, which they replace in the static daemon.
@Suite struct MatcherTests {
    func regex(_ pattern: String) -> Regex? { try? Regex.compile(pattern).get() }

    func regexMatches(_ pattern: String, _ text: String) -> Bool {
        guard let regex = regex(pattern) else {
            Issue.record("\(pattern) rejected")
            return false
        }
        return regex.matches(Array(text.utf8))
    }

    func regexError(_ pattern: String) -> String? {
        guard case .failure(let error) = Regex.compile(pattern) else { return nil }
        return error.message
    }

    // MARK: Regular expressions

    @Test func regexFeatures() {
        let cases: [(String, String, Bool)] = [
            ("", "", true), ("", "anything", true),
            ("abc", "xxabcxx", true), ("abc", "ab", false),
            ("a.c", "abc", true), ("a.c", "a\nc", true), ("a.c", "ac", false),
            ("^ab", "abc", true), ("^ab", "cab", false), ("bc$", "abc", true), ("ab$", "abc", false),
            ("^$", "", true), ("^$", "a", false), ("a^b", "a^b", false), ("a$b", "a$b", false),
            ("(^a|b)", "ca", false), ("(^a|b)", "cb", true), ("x(a$|b)", "xa", true),
            ("[abc]", "xbx", true), ("[abc]", "xyz", false), ("[a-c]+$", "zcab", true),
            ("[^a-c]", "abc", false), ("[^a-c]", "abcd", true), ("[^a]", "\n", true),
            ("[]a]", "]", true), ("[^]a]", "]", false), ("[a-]", "-", true), ("[-a]", "-", true),
            ("[]-a]", "_", true), ("[[:digit:]]+", "pid42", true), ("^[[:alpha:]_]+$", "kworker_u", true),
            ("^[[:alpha:]_]+$", "kworker/u8", false), ("[[:space:]]", "a\tb", true), ("[[:upper:]]", "abc", false),
            ("[[:punct:]]", "a_b", true), ("[[:xdigit:]]{4}", "beef", true), ("[[:blank:]]", "a\nb", false),
            ("[[:cntrl:]]", "a\u{7f}", true), ("[[:print:]]", "\t", false), ("[[:graph:]]", " ", false),
            ("[[:lower:][:digit:]]", "A1", true), ("[[.a.]]", "a", true), ("[[=b=]]", "b", true),
            ("[[.-.]-/]", ".", true), ("[\\]", "\\", true), ("[a\\]+", "\\a", true),
            ("a|b", "b", true), ("a|b", "c", false), ("(a|)x", "x", true), ("a||b", "c", true), ("()", "z", true),
            ("(ab)+c", "ababc", true), ("^(ab)+c", "abac", false), ("ab*c", "ac", true), ("ab+c", "ac", false),
            ("ab?c", "abbc", false), ("^a{2}$", "aa", true), ("^a{2}$", "aaa", false),
            ("^a{2,}$", "aaaa", true), ("^a{2,3}$", "aaaa", false), ("^a{,2}$", "aa", true), ("^a{,2}$", "aaa", false),
            ("^a{0}$", "", true), ("^a{0}b$", "b", true), ("^a{1,}$", "", false), ("^a{,}$", "aaa", true),
            ("^a{2}{3}$", "aaaaaa", true), ("^a{2}{3}$", "aaaa", false), ("a**", "b", true), ("^(a*)*$", "aaa", true),
            ("a)", "a)", true), (")", "x", false), ("a}", "a}", true), ("}", "}", true),
            ("\\.", "a.b", true), ("\\.", "ab", false), ("\\\\", "a\\b", true), ("\\(\\)", "()", true),
            ("\\|", "|", true), ("\\|", "a", false), ("\\{", "{", true), ("\\n", "n", true),
            ("\\bab\\b", "x ab y", true), ("\\bab\\b", "xab", false), ("\\Ba", "ba", true), ("\\Ba", " a", false),
            ("\\<ab", "x ab", true), ("\\<ab", "xab", false), ("ab\\>", "ab.", true), ("ab\\>", "abc", false),
            ("\\w+", "__", true), ("\\W", "ab_1", false), ("\\s", "a b", true), ("\\S", "   ", false),
            ("\\`a", "ab", true), ("\\`a", "ba", false), ("a\\'", "ba", true), ("a\\'", "ab", false),
            ("^(editor|chrome)$", "chrome", true), ("^(editor|chrome)$", "chromes", false),
        ]
        for (pattern, text, expected) in cases {
            #expect(regexMatches(pattern, text) == expected, "\(pattern) ~ \(text)")
        }
    }

    @Test func regexWorksOnRawBytes() throws {
        let dot = try #require(regex("^a.b$"))
        #expect(dot.matches([0x61, 0xff, 0x62]))  // invalid UTF-8 is one byte
        #expect(!dot.matches([0x61, 0xc3, 0xa9, 0x62]))  // é is two bytes in the C locale
        #expect(dot.matches([0x61, 0x00, 0x62]))  // NUL reads as a space
        #expect(try #require(regex("a b")).matches([0x61, 0x00, 0x62]))
        #expect(try #require(regex("é")).matches(Array("café".utf8)))
        let high = try #require(regex("[^a-z]"))
        #expect(high.matches([0xe9]))
    }

    @Test func regexErrors() {
        let cases: [(String, String)] = [
            ("(unclosed", "Unmatched ( or \\("), ("(", "Unmatched ( or \\("), ("a(b|c", "Unmatched ( or \\("),
            ("[", "Invalid regular expression"), ("[^", "Invalid regular expression"),
            ("[abc", "Unmatched [, [^, [:, [., or [="), ("[]", "Unmatched [, [^, [:, [., or [="),
            ("[[:alpha:]", "Unmatched [, [^, [:, [., or [="), ("[a-", "Unmatched [, [^, [:, [., or [="),
            ("[[:foo:]]", "Invalid character class name"), ("[[::]]", "Invalid character class name"),
            ("[[.ab.]]", "Invalid collation character"), ("[[=ab=]]", "Invalid collation character"),
            ("[z-a]", "Invalid range end"), ("[a-c-e]", "Invalid range end"), ("[a-[:alpha:]]", "Invalid range end"),
            ("[[:alpha:]-z]", "Invalid range end"),
            ("a\\", "Trailing backslash"), ("\\", "Trailing backslash"),
            ("*a", "Invalid preceding regular expression"), ("+", "Invalid preceding regular expression"),
            ("a|*b", "Invalid preceding regular expression"), ("(*a)", "Invalid preceding regular expression"),
            ("^*", "Invalid preceding regular expression"), ("$+", "Invalid preceding regular expression"),
            ("\\b*", "Invalid preceding regular expression"), ("{1}", "Invalid preceding regular expression"),
            ("a{1", "Unmatched \\{"), ("a{", "Unmatched \\{"), ("a{1,", "Unmatched \\{"),
            ("a{}", "Invalid content of \\{\\}"), ("a{x}", "Invalid content of \\{\\}"),
            ("a{2,1}", "Invalid content of \\{\\}"), ("a{1,2,3}", "Invalid content of \\{\\}"),
            ("a{256}", "Regular expression too big"), ("a{1,99999}", "Regular expression too big"),
            ("(a)\\1", "Invalid back reference"), ("\\1", "Invalid back reference"),
            ("((a{200}){200}){200}", "Regular expression too big"),
            (String(repeating: "(", count: 200) + String(repeating: ")", count: 200), "Regular expression too big"),
        ]
        for (pattern, reason) in cases {
            #expect(regexError(pattern) == "invalid regular expression \(quotedArgument(pattern)): \(reason)", "\(pattern)")
        }
        #expect(regexError("a{255}") == nil)
        #expect(regexError(String(repeating: "a*", count: 100)) == nil)
    }

    @Test func regexHostilePatternsFinishFast() throws {
        let clock = ContinuousClock()
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 4096)
        let patterns = [
            "(a*)*b", "(a|a)*b", "(a|aa)+$b", "(a?){30}a{30}b", "((a+)+)+b", "(.*)*x", "(a*)*(b*)*c",
            "([ab]*)*[ab]{200}c", "(\\w*\\b)*!", "(x*|a*|.*)*z",
        ]
        let start = clock.now
        for pattern in patterns {
            let compiled = try #require(regex(pattern), "\(pattern)")
            #expect(!compiled.matches(long), "\(pattern)")
        }
        #expect(clock.now - start < .seconds(5))
    }

    // MARK: Globs

    func globMatches(_ pattern: String, _ text: String) -> Bool {
        Glob(pattern).matches(Array(text.utf8))
    }

    @Test func globFeatures() {
        let cases: [(String, String, Bool)] = [
            ("sshd", "sshd", true), ("sshd", "sshd2", false), ("ssh", "sshd", false),
            ("*", "", true), ("*", "/usr/bin/x", true), ("*", ".hidden", true), ("/opt/db/*", "/opt/db/bin/pg", true),
            ("?", "a", true), ("?", "", false), ("?", "/", true), ("a?c", "abc", true), ("*d", "sshd", true),
            ("systemd-*", "systemd-journald", true), ("systemd-*", "systemd", false), ("*a*b*", "xaxxbx", true),
            ("[abc]", "b", true), ("[abc]", "d", false), ("[a-c]x", "bx", true), ("[!a-c]", "b", false),
            ("[!a-c]", "d", true), ("[^a]", "a", false), ("[^a]", "b", true), ("[]a]", "]", true),
            ("[!]a]", "]", false), ("[a-]", "-", true), ("[z-a]", "m", false), ("[a-c-e]", "d", false),
            ("[a-c-e]", "-", true), ("[\\]]", "]", true), ("[a\\-c]", "b", false), ("[a\\-c]", "-", true),
            ("[[:alpha:]]", "q", true), ("[[:alpha:]]", "1", false), ("[[:digit:][:upper:]]", "Q", true),
            ("[[:foo:]]", "f", false), ("*[[:foo:]]", "xf", false), ("[[.a.]]", "a", true), ("[[=a=]]", "a", true),
            ("\\*", "*", true), ("\\*", "a", false), ("a\\", "a", false), ("a\\", "a\\", false),
            ("[", "[", true), ("[ab", "[ab", true), ("[ab", "a", false), ("*.[ch]", "main.c", true),
            ("[[", "[[", true), ("[a[=b", "[a[=b", true), ("[a[.b", "[a[.b", false),  // glibc 2.36 quirks
        ]
        for (pattern, text, expected) in cases {
            #expect(globMatches(pattern, text) == expected, "\(pattern) ~ \(text)")
        }
        #expect(Glob("a b").matches([0x61, 0x00, 0x62]))  // NUL reads as a space
        #expect(Glob("a?b").matches([0x61, 0xff, 0x62]))
    }

    @Test func globListAPI() throws {
        var list = try GlobList.parse("sshd|/opt/db/*").get()
        #expect(list.patterns == ["sshd", "/opt/db/*"] && !list.isEmpty)
        #expect(list.matches(Array("sshd".utf8)) && list.matches(Array("/opt/db/x".utf8)))
        #expect(!list.matches(Array("bash".utf8)))
        list.append(contentsOf: try GlobList.parse("ba?h").get())
        #expect(list.patterns.count == 3 && list.matches(Array("bash".utf8)))
        #expect(!GlobList().matches(Array("x".utf8)) && GlobList().isEmpty)
        guard case .failure(let empty) = GlobList.parse("a||b") else {
            Issue.record("accepted")
            return
        }
        #expect(empty.message == "invalid glob list \"a||b\": empty pattern between '|'")
        guard case .failure(let bracket) = GlobList.parse("x|[abc") else {
            Issue.record("accepted")
            return
        }
        #expect(bracket.message == "invalid glob \"[abc\": '[' without a closing ']'")
    }

    @Test func globHostilePatternsFinishFast() {
        let clock = ContinuousClock()
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 4096)
        let start = clock.now
        #expect(!Glob("*a*a*a*a*a*a*a*a*a*a*b").matches(long))
        #expect(!Glob(String(repeating: "*?", count: 50) + "b").matches(long))
        #expect(clock.now - start < .seconds(5))
    }

    // MARK: Differential tests against glibc

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick(_ items: [String]) -> String { items[below(items.count)] }
    }

    func randomText(_ random: inout Random, alphabet: [String]) -> String {
        var text = ""
        for _ in 0..<random.below(9) { text += random.pick(alphabet) }
        return text
    }

    /// Back-references are left out: bustd rejects them on purpose (see
    /// RegularExpression.swift), and so are counts above 255.
    static let regexAtoms = [
        "a", "b", "c", ".", "[ab]", "[^a]", "[a-c]", "[]a]", "[[:alpha:]]", "(", ")", "|",
        "*", "+", "?", "^", "$", "{1,2}", "{2}", "{,1}", "{1,}", "{0}", "{", "}", "\\.", "\\a",
        "\\b", "\\<", "\\w", "[", "]", "-", "(a|b)", "(a*)*", "()", "{1", "\\",
    ]

    @Test func regexAgreesWithGlibc() {
        var random = Random(state: 20_240_601)
        var compared = 0
        var rejected = 0
        for _ in 0..<4000 {
            var pattern = ""
            for _ in 0..<(1 + random.below(8)) { pattern += random.pick(Self.regexAtoms) }
            var re = regex_t()
            let glibcAccepts = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0
            defer { if glibcAccepts { regfree(&re) } }
            let ours = regex(pattern)
            guard glibcAccepts == (ours != nil) else {
                Issue.record("\(pattern): glibc \(glibcAccepts ? "accepts" : "rejects"), bustd \(ours != nil ? "accepts" : "rejects")")
                continue
            }
            guard let ours else {
                rejected += 1
                continue
            }
            for _ in 0..<25 {
                let text = randomText(&random, alphabet: ["a", "b", "c", "a", "b", " ", "."])
                let expected = regexec(&re, text, 0, nil, 0) == 0
                compared += 1
                if ours.matches(Array(text.utf8)) != expected {
                    Issue.record("\(pattern) ~ \"\(text)\": glibc \(expected), bustd \(!expected)")
                }
            }
        }
        #expect(compared > 30_000 && rejected > 100)
    }

    static let globAtoms = [
        "a", "b", "c", "*", "?", "[ab]", "[!a]", "[^b]", "[a-c]", "[]a]", "[a-]", "\\a", "\\*",
        "[[:alpha:]]", "[[:lower:]b]", "[", "]", "-", "!", "[[.a.]]", "[[=b=]]", "[\\]]",
        "[b-a]", "[[:x:]]", "\\", "[a\\-c]", "[[:", ":]",
    ]

    @Test func globAgreesWithFnmatch() {
        var random = Random(state: 7)
        var compared = 0
        for _ in 0..<4000 {
            var pattern = ""
            for _ in 0..<(1 + random.below(7)) { pattern += random.pick(Self.globAtoms) }
            let glob = Glob(pattern)
            for _ in 0..<25 {
                let text = randomText(&random, alphabet: ["a", "b", "c", "a", "[", "]", "-", "*", "!"])
                let expected = fnmatch(pattern, text, 0) == 0
                compared += 1
                if glob.matches(Array(text.utf8)) != expected {
                    Issue.record("glob \(pattern) ~ \"\(text)\": fnmatch \(expected), bustd \(!expected)")
                }
            }
        }
        #expect(compared == 100_000)
    }
}
