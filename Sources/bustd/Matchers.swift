import CBustd
#if !hasFeature(Embedded)
import Glibc
#endif

/// A POSIX extended regular expression (regcomp/regexec from libc: no
/// Foundation in the Embedded build).
final class Regex {
    let pattern: String
    private let compiled: UnsafeMutableRawPointer

    /// Compiles pattern, or returns the libc message explaining why not.
    static func compile(_ pattern: String) -> Result<Regex, OptionError> {
        var message = [CChar](repeating: 0, count: 256)
        guard let compiled = bustd_regex_compile(pattern, &message, message.count) else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            return .failure(OptionError("invalid regular expression \(quotedArgument(pattern)): \(text)"))
        }
        return .success(Regex(pattern: pattern, compiled: compiled))
    }

    private init(pattern: String, compiled: UnsafeMutableRawPointer) {
        self.pattern = pattern
        self.compiled = compiled
    }

    deinit { bustd_regex_free(compiled) }

    func matches(_ bytes: [UInt8]) -> Bool {
        withCString(bytes) { bustd_regex_matches(compiled, $0) != 0 }
    }
}

/// The never-kill list: shell globs (fnmatch) separated by `|`, each
/// matched against the process name and against its executable's path.
struct GlobList {
    private(set) var patterns: [String] = []

    var isEmpty: Bool { patterns.isEmpty }

    /// Parses "glob|glob". Empty entries and unbalanced `[` are errors: they
    /// are typos that would otherwise silently protect nothing.
    static func parse(_ text: String) -> Result<GlobList, OptionError> {
        var list = GlobList()
        for part in text.split(separator: "|", omittingEmptySubsequences: false) {
            let glob = String(part)
            if glob.isEmpty {
                return .failure(OptionError("invalid never-kill list \(quotedArgument(text)): empty pattern between '|'"))
            }
            if !bracketsBalanced(glob) {
                return .failure(OptionError("invalid glob \(quotedArgument(glob)): '[' without a closing ']'"))
            }
            list.patterns.append(glob)
        }
        return .success(list)
    }

    mutating func append(contentsOf other: GlobList) {
        patterns.append(contentsOf: other.patterns)
    }

    func matches(_ bytes: [UInt8]) -> Bool {
        guard !patterns.isEmpty else { return false }
        return withCString(bytes) { text in
            patterns.contains { fnmatch($0, text, 0) == 0 }
        }
    }

    private static func bracketsBalanced(_ glob: String) -> Bool {
        var inBracket = false
        var escaped = false
        var bracketLength = 0
        for byte in glob.utf8 {
            if escaped { escaped = false; if inBracket { bracketLength += 1 }; continue }
            if byte == UInt8(ascii: "\\") { escaped = true; continue }
            if !inBracket {
                if byte == UInt8(ascii: "[") { inBracket = true; bracketLength = 0 }
            } else if byte == UInt8(ascii: "]") && bracketLength > 0 {
                inBracket = false
            } else if !(bracketLength == 0 && byte == UInt8(ascii: "!")) {
                bracketLength += 1
            }
        }
        return !inBracket
    }
}
