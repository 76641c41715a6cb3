/// The matchers behind --prefer, --avoid and the never-kill list. Both are
/// hand-written in Swift (RegularExpression.swift, Glob.swift) rather than
/// libc's regcomp/regexec and fnmatch: in the static daemon those link
/// gettext, iconv tables and wide-character I/O (~250 KB of text), a large
/// share of the footprint that bustd exists to keep small.

/// A POSIX extended regular expression, as regcomp(REG_EXTENDED | REG_NOSUB)
/// reads it in the C locale, matched against bytes.
final class Regex {
    let pattern: String
    private let program: RegexProgram

    /// Compiles pattern, or returns the message explaining why not.
    static func compile(_ pattern: String) -> Result<Regex, OptionError> {
        do {
            return .success(Regex(pattern: pattern, program: try RegexProgram(compiling: Array(pattern.utf8))))
        } catch {
            return .failure(OptionError("invalid regular expression \(quotedArgument(pattern)): \(error.reason)"))
        }
    }

    private init(pattern: String, program: RegexProgram) {
        self.pattern = pattern
        self.program = program
    }

    /// Whether any part of bytes matches (regexec without anchoring flags).
    func matches(_ bytes: [UInt8]) -> Bool { program.matches(bytes) }
}

/// A list of shell globs (fnmatch semantics) separated by `|`: the
/// never-kill list (-u), matched against the process name and against its
/// executable's path, and --protect-unit, against units and cgroup paths.
struct GlobList {
    private(set) var patterns: [String] = []
    private var globs: [Glob] = []
    /// The globs that start with "/": paths (executables, cgroups).
    private(set) var pathGlobs: [Glob] = []

    var isEmpty: Bool { patterns.isEmpty }

    /// Parses "glob|glob". Empty entries and unbalanced `[` are errors: they
    /// are typos that would otherwise silently protect nothing.
    static func parse(_ text: String) -> Result<GlobList, OptionError> {
        var list = GlobList()
        for part in text.split(separator: "|", omittingEmptySubsequences: false) {
            let glob = String(part)
            if glob.isEmpty {
                return .failure(OptionError("invalid glob list \(quotedArgument(text)): empty pattern between '|'"))
            }
            if !bracketsBalanced(glob) {
                return .failure(OptionError("invalid glob \(quotedArgument(glob)): '[' without a closing ']'"))
            }
            list.patterns.append(glob)
            list.globs.append(Glob(glob))
            if glob.hasPrefix("/") { list.pathGlobs.append(Glob(glob)) }
        }
        return .success(list)
    }

    mutating func append(contentsOf other: GlobList) {
        patterns.append(contentsOf: other.patterns)
        globs.append(contentsOf: other.globs)
        pathGlobs.append(contentsOf: other.pathGlobs)
    }

    func matches(_ bytes: [UInt8]) -> Bool {
        globs.contains { $0.matches(bytes) }
    }

    private static func bracketsBalanced(_ glob: String) -> Bool {
        var inBracket = false
        var escaped = false
        var bracketLength = 0
        for byte in glob.utf8 {
            if escaped {
                escaped = false
                if inBracket { bracketLength += 1 }
                continue
            }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                continue
            }
            if !inBracket {
                if byte == UInt8(ascii: "[") {
                    inBracket = true
                    bracketLength = 0
                }
            } else if byte == UInt8(ascii: "]") && bracketLength > 0 {
                inBracket = false
            } else if !(bracketLength == 0 && byte == UInt8(ascii: "!")) {
                bracketLength += 1
            }
        }
        return !inBracket
    }
}
