// POSIX extended regular expressions, byte-wise in the C locale, written in
// Swift because glibc's regcomp/regexec are the single largest avoidable cost
// of the static daemon: regex.o links gettext, locale aliases, stdio and the
// iconv tables (~250 KB of text) for two options that match process names.
//
// The parser follows glibc's regcomp(REG_EXTENDED | REG_NOSUB) decision for
// decision (posix/regcomp.c), so a pattern means what it meant with libc and
// is rejected where libc rejected it, with libc's message:
// - literals, `.` (any byte, newline included), `[...]` bracket expressions
//   (`^` negation, `]` first is literal, byte-value ranges, `[:class:]`,
//   `[=c=]` and `[.c.]` of one byte), `( )`, `|` (empty alternatives and
//   `()` match the empty string), `* + ? {m} {m,} {,n} {m,n}` (stackable:
//   `a**`, `a{2}{3}`), anchors `^ $` anywhere, `\x` for a literal x, and
//   glibc's GNU escapes `\w \W \s \S \b \B \< \> \` \'`;
// - `)` without `(` is a literal, as in glibc; an empty pattern matches
//   everything; a quantifier with nothing to repeat (`*a`, `a|*b`, `(+a)`,
//   `^*`) is an error.
// Deliberate differences from glibc, all on patterns no process matcher needs:
// - back-references (`(a)\1`) are rejected ("Invalid back reference"): they
//   are not regular and would break the matching-time bound below;
// - counts above 255 (POSIX's RE_DUP_MAX; glibc allows 32767), groups nested
//   more than 100 deep and programs above 10,000 instructions are rejected
//   with "Regular expression too big".
//
// Matching simulates the NFA over the set of live states (Thompson/Pike), so
// it costs O(program × text) whatever the pattern: `(a*)*b` cannot explode.

struct RegexSyntaxError: Error {
    let reason: String
}

enum RegexAssertion: Equatable {
    case lineStart, lineEnd, bufferStart, bufferEnd
    case wordStart, wordEnd, wordBoundary, notWordBoundary
}

enum RegexInstruction {
    case byte(UInt8)
    case set(ByteSet)
    case any
    case split(Int, Int)
    case jump(Int)
    case assertion(RegexAssertion)
    case match
}

/// A compiled expression: an NFA program, matched without backtracking.
struct RegexProgram {
    let instructions: [RegexInstruction]
    private let word: ByteSet

    init(compiling pattern: [UInt8]) throws(RegexSyntaxError) {
        var parser = RegexParser(pattern)
        let root = try parser.parse()
        var compiler = RegexCompiler(nodes: parser.nodes)
        if let root { try compiler.emit(root) }
        try compiler.append(.match)
        instructions = compiler.program
        word = ByteSet.word()
    }

    /// Unanchored search, as regexec: does any part of text match? NUL bytes
    /// read as spaces (names used to reach regexec as C strings).
    func matches(_ text: [UInt8]) -> Bool {
        var vm = PikeVM(program: instructions, word: word, text: text)
        return vm.run()
    }
}

private struct PikeVM {
    let program: [RegexInstruction]
    let word: ByteSet
    let text: [UInt8]
    /// The position whose state list last took each instruction.
    var marks: [Int]
    var stack: [Int] = []

    init(program: [RegexInstruction], word: ByteSet, text: [UInt8]) {
        self.program = program
        self.word = word
        self.text = text
        marks = [Int](repeating: -1, count: program.count)
    }

    @inline(__always) func byte(_ i: Int) -> UInt8 { text[i] == 0 ? 0x20 : text[i] }

    func holds(_ assertion: RegexAssertion, at position: Int) -> Bool {
        switch assertion {
        case .lineStart, .bufferStart: return position == 0
        case .lineEnd, .bufferEnd: return position == text.count
        default:
            let before = position > 0 && word.contains(byte(position - 1))
            let after = position < text.count && word.contains(byte(position))
            switch assertion {
            case .wordStart: return !before && after
            case .wordEnd: return before && !after
            case .wordBoundary: return before != after
            default: return before == after
            }
        }
    }

    /// Adds pc and every state reachable from it without reading a byte to
    /// list; true when that reaches the match state.
    mutating func addClosure(_ pc: Int, at position: Int, into list: inout [Int]) -> Bool {
        stack.append(pc)
        while let pc = stack.popLast() {
            if marks[pc] == position { continue }
            marks[pc] = position
            switch program[pc] {
            case .match:
                stack.removeAll(keepingCapacity: true)
                return true
            case .jump(let target):
                stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assertion(let assertion):
                if holds(assertion, at: position) { stack.append(pc + 1) }
            default:
                list.append(pc)
            }
        }
        return false
    }

    mutating func run() -> Bool {
        var current: [Int] = []
        var next: [Int] = []
        var position = 0
        while true {
            // A match may start anywhere: seed the start state at every position.
            if addClosure(0, at: position, into: &current) { return true }
            if position == text.count { return false }
            let c = byte(position)
            next.removeAll(keepingCapacity: true)
            for pc in current {
                let advances: Bool
                switch program[pc] {
                case .byte(let b): advances = b == c
                case .set(let set): advances = set.contains(c)
                case .any: advances = true
                default: advances = false
                }
                if advances && addClosure(pc + 1, at: position + 1, into: &next) { return true }
            }
            swap(&current, &next)
            position += 1
        }
    }
}

// MARK: - Parsing (mirrors glibc's regcomp.c for REG_EXTENDED)

enum RegexNode {
    case empty
    case byte(UInt8)
    case set(ByteSet)
    case any
    case assertion(RegexAssertion)
    case concatenation([Int])
    case alternation([Int])
    /// child, minimum, maximum (-1: unbounded)
    case repetition(Int, Int, Int)
}

private enum TokenKind: Equatable {
    case character, end, alternation, star, plus, question, openBrace, closeBrace
    case openGroup, closeGroup, openBracket, period, anchor, backReference
    case classEscape, trailingBackslash
}

private struct Token {
    var kind: TokenKind
    /// The byte (for an escape, the escaped byte), as glibc's opr.c.
    var c: UInt8
    var anchor: RegexAssertion = .lineStart
    var set = ByteSet()
}

private enum BracketTokenKind {
    case end, character, openCollating, openEquivalence, openClass, range, close, nonMatch
}

private enum BracketElement {
    case byte(UInt8)
    case collating([UInt8])
    case equivalence([UInt8])
    case characterClass([UInt8])
}

private enum RegexError {
    static let badPattern = RegexSyntaxError(reason: "Invalid regular expression")
    static let collation = RegexSyntaxError(reason: "Invalid collation character")
    static let classType = RegexSyntaxError(reason: "Invalid character class name")
    static let escape = RegexSyntaxError(reason: "Trailing backslash")
    static let backReference = RegexSyntaxError(reason: "Invalid back reference")
    static let bracket = RegexSyntaxError(reason: "Unmatched [, [^, [:, [., or [=")
    static let paren = RegexSyntaxError(reason: "Unmatched ( or \\(")
    static let brace = RegexSyntaxError(reason: "Unmatched \\{")
    static let badBrace = RegexSyntaxError(reason: "Invalid content of \\{\\}")
    static let range = RegexSyntaxError(reason: "Invalid range end")
    static let badRepeat = RegexSyntaxError(reason: "Invalid preceding regular expression")
    static let size = RegexSyntaxError(reason: "Regular expression too big")
}

private struct RegexParser {
    static let maximumCount = 255
    static let maximumNesting = 100

    let bytes: [UInt8]
    var index = 0
    var token = Token(kind: .end, c: 0)
    var nodes: [RegexNode] = []
    /// Per node: its height, which bounds the compiler's recursion.
    var heights: [Int] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The root node, or nil for an expression that matches the empty string.
    mutating func parse() throws(RegexSyntaxError) -> Int? {
        fetch()
        return try parseAlternation(nest: 0)
    }

    mutating func add(_ node: RegexNode, children: [Int] = []) throws(RegexSyntaxError) -> Int {
        var height = 1
        for child in children { height = max(height, heights[child] + 1) }
        if height > 2 * RegexParser.maximumNesting + 50 { throw RegexError.size }
        nodes.append(node)
        heights.append(height)
        return nodes.count - 1
    }

    // glibc's peek_token for ERE syntax.
    func peek(_ at: Int) -> (Token, Int) {
        guard at < bytes.count else { return (Token(kind: .end, c: 0), 0) }
        let c = bytes[at]
        if c == ascii("\\") {
            guard at + 1 < bytes.count else { return (Token(kind: .trailingBackslash, c: c), 1) }
            let c2 = bytes[at + 1]
            var token = Token(kind: .character, c: c2)
            switch c2 {
            case ascii("1")...ascii("9"): token.kind = .backReference
            case ascii("<"):
                token.kind = .anchor
                token.anchor = .wordStart
            case ascii(">"):
                token.kind = .anchor
                token.anchor = .wordEnd
            case ascii("b"):
                token.kind = .anchor
                token.anchor = .wordBoundary
            case ascii("B"):
                token.kind = .anchor
                token.anchor = .notWordBoundary
            case ascii("`"):
                token.kind = .anchor
                token.anchor = .bufferStart
            case ascii("'"):
                token.kind = .anchor
                token.anchor = .bufferEnd
            case ascii("w"):
                token.kind = .classEscape
                token.set = ByteSet.word()
            case ascii("W"):
                token.kind = .classEscape
                token.set = ByteSet.word().inverted()
            case ascii("s"):
                token.kind = .classEscape
                token.set = ByteSet.posixClass(Array("space".utf8))!
            case ascii("S"):
                token.kind = .classEscape
                token.set = ByteSet.posixClass(Array("space".utf8))!.inverted()
            default: break
            }
            return (token, 2)
        }
        var token = Token(kind: .character, c: c)
        switch c {
        case ascii("|"): token.kind = .alternation
        case ascii("*"): token.kind = .star
        case ascii("+"): token.kind = .plus
        case ascii("?"): token.kind = .question
        case ascii("{"): token.kind = .openBrace
        case ascii("}"): token.kind = .closeBrace
        case ascii("("): token.kind = .openGroup
        case ascii(")"): token.kind = .closeGroup
        case ascii("["): token.kind = .openBracket
        case ascii("."): token.kind = .period
        case ascii("^"):
            token.kind = .anchor
            token.anchor = .lineStart
        case ascii("$"):
            token.kind = .anchor
            token.anchor = .lineEnd
        default: break
        }
        return (token, 1)
    }

    mutating func fetch() {
        let (next, length) = peek(index)
        token = next
        index += length
    }

    func endsBranch(_ nest: Int) -> Bool {
        token.kind == .alternation || token.kind == .end || (nest > 0 && token.kind == .closeGroup)
    }

    // parse_reg_exp
    mutating func parseAlternation(nest: Int) throws(RegexSyntaxError) -> Int? {
        let first = try parseBranch(nest: nest)
        guard token.kind == .alternation else { return first }
        var branches: [Int?] = [first]
        while token.kind == .alternation {
            fetch()
            branches.append(endsBranch(nest) ? nil : try parseBranch(nest: nest))
        }
        var children: [Int] = []
        for branch in branches {
            if let branch { children.append(branch) } else { children.append(try add(.empty)) }
        }
        return try add(.alternation(children), children: children)
    }

    // parse_branch
    mutating func parseBranch(nest: Int) throws(RegexSyntaxError) -> Int? {
        var items: [Int] = []
        if let first = try parseExpression(nest: nest) { items.append(first) }
        while !endsBranch(nest) {
            if let item = try parseExpression(nest: nest) { items.append(item) }
        }
        if items.count <= 1 { return items.first }
        return try add(.concatenation(items), children: items)
    }

    // parse_expression
    mutating func parseExpression(nest: Int) throws(RegexSyntaxError) -> Int? {
        var tree: Int?
        switch token.kind {
        case .character, .closeBrace, .closeGroup:
            // `}` and, outside any group, `)` are ordinary characters.
            tree = try add(.byte(token.c))
        case .period:
            tree = try add(.any)
        case .classEscape:
            tree = try add(.set(token.set))
        case .openGroup:
            tree = try parseGroup(nest: nest + 1)
        case .openBracket:
            tree = try add(.set(try parseBracket()))
        case .backReference:
            throw RegexError.backReference
        case .star, .plus, .question, .openBrace:
            throw RegexError.badRepeat
        case .anchor:
            // An anchor cannot be repeated: the next token starts a new
            // expression (so `^*` is an error, as in glibc).
            tree = try add(.assertion(token.anchor))
            fetch()
            return tree
        case .alternation, .end:
            return nil
        case .trailingBackslash:
            throw RegexError.escape
        }
        fetch()
        while token.kind == .star || token.kind == .plus || token.kind == .question || token.kind == .openBrace {
            tree = try parseRepetition(tree)
        }
        return tree
    }

    // parse_sub_exp: returns with the `)` as the current token.
    mutating func parseGroup(nest: Int) throws(RegexSyntaxError) -> Int? {
        if nest > RegexParser.maximumNesting { throw RegexError.size }
        fetch()
        if token.kind == .closeGroup { return nil }
        let tree = try parseAlternation(nest: nest)
        if token.kind != .closeGroup { throw RegexError.paren }
        return tree
    }

    // fetch_number: -1 for no digits, -2 for anything invalid.
    mutating func fetchNumber() -> Int {
        var number = -1
        while true {
            fetch()
            if token.kind == .end { return -2 }
            let c = token.c
            if token.kind == .closeBrace || c == ascii(",") { break }
            if token.kind != .character || c < ascii("0") || c > ascii("9") || number == -2 {
                number = -2
            } else {
                number = number == -1 ? Int(c - ascii("0")) : min(32768, number * 10 + Int(c - ascii("0")))
            }
        }
        return number
    }

    // parse_dup_op
    mutating func parseRepetition(_ element: Int?) throws(RegexSyntaxError) -> Int? {
        var minimum: Int
        var maximum: Int
        if token.kind == .openBrace {
            minimum = fetchNumber()
            if minimum == -1 {
                guard token.kind == .character && token.c == ascii(",") else { throw RegexError.badBrace }
                minimum = 0  // {,n} is {0,n}
            }
            maximum = -2
            if minimum != -2 {
                if token.kind == .closeBrace {
                    maximum = minimum
                } else if token.kind == .character && token.c == ascii(",") {
                    maximum = fetchNumber()
                }
            }
            if minimum == -2 || maximum == -2 {
                throw token.kind == .end ? RegexError.brace : RegexError.badBrace
            }
            if (maximum != -1 && minimum > maximum) || token.kind != .closeBrace { throw RegexError.badBrace }
            if (maximum == -1 ? minimum : maximum) > RegexParser.maximumCount { throw RegexError.size }
        } else {
            minimum = token.kind == .plus ? 1 : 0
            maximum = token.kind == .question ? 1 : -1
        }
        fetch()
        guard let element else { return nil }
        if minimum == 0 && maximum == 0 { return nil }
        return try add(.repetition(element, minimum, maximum), children: [element])
    }

    // peek_token_bracket
    func peekBracket(_ at: Int) -> (BracketTokenKind, UInt8, Int) {
        guard at < bytes.count else { return (.end, 0, 0) }
        let c = bytes[at]
        if c == ascii("[") {
            let c2 = at + 1 < bytes.count ? bytes[at + 1] : 0
            switch c2 {
            case ascii("."): return (.openCollating, c2, 2)
            case ascii("="): return (.openEquivalence, c2, 2)
            case ascii(":"): return (.openClass, c2, 2)
            default: return (.character, c, 1)
            }
        }
        switch c {
        case ascii("-"): return (.range, c, 1)
        case ascii("]"): return (.close, c, 1)
        case ascii("^"): return (.nonMatch, c, 1)
        default: return (.character, c, 1)
        }
    }

    // parse_bracket_exp: index is just past the `[`.
    mutating func parseBracket() throws(RegexSyntaxError) -> ByteSet {
        var set = ByteSet()
        var (kind, c, length) = peekBracket(index)
        if kind == .end { throw RegexError.badPattern }
        var negated = false
        if kind == .nonMatch {
            negated = true
            index += length
            (kind, c, length) = peekBracket(index)
            if kind == .end { throw RegexError.badPattern }
        }
        if kind == .close { kind = .character }  // `]` first is literal
        var firstRound = true
        while true {
            let start = try parseBracketElement(kind, c, length, acceptHyphen: firstRound)
            firstRound = false
            (kind, c, length) = peekBracket(index)
            var rangeEnd: (BracketTokenKind, UInt8, Int)? = nil
            switch start {
            case .characterClass, .equivalence: break
            default:
                if kind == .end { throw RegexError.bracket }
                if kind == .range {
                    index += length
                    let second = peekBracket(index)
                    if second.0 == .end { throw RegexError.bracket }
                    if second.0 == .close {
                        index -= length  // a `-` before `]` is literal
                        kind = .character
                    } else {
                        rangeEnd = second
                    }
                }
            }
            if let rangeEnd {
                let end = try parseBracketElement(rangeEnd.0, rangeEnd.1, rangeEnd.2, acceptHyphen: true)
                (kind, c, length) = peekBracket(index)
                let low = try rangeBound(start)
                let high = try rangeBound(end)
                if low > high { throw RegexError.range }
                set.insert(from: low, through: high)
            } else {
                switch start {
                case .byte(let b): set.insert(b)
                case .collating(let name), .equivalence(let name):
                    // The C locale has only one-byte collating elements.
                    if name.count != 1 { throw RegexError.collation }
                    set.insert(name[0])
                case .characterClass(let name):
                    guard let members = ByteSet.posixClass(name) else { throw RegexError.classType }
                    set.formUnion(members)
                }
            }
            if kind == .end { throw RegexError.bracket }
            if kind == .close { break }
        }
        index += length
        return negated ? set.inverted() : set
    }

    // build_range_exp's checks, C locale (byte values).
    func rangeBound(_ element: BracketElement) throws(RegexSyntaxError) -> UInt8 {
        switch element {
        case .byte(let b): return b
        case .collating(let name):
            if name.count != 1 { throw RegexError.collation }
            return name[0]
        case .equivalence, .characterClass: throw RegexError.range
        }
    }

    // parse_bracket_element
    mutating func parseBracketElement(
        _ kind: BracketTokenKind, _ c: UInt8, _ length: Int,
        acceptHyphen: Bool
    ) throws(RegexSyntaxError) -> BracketElement {
        index += length
        switch kind {
        case .openCollating, .openEquivalence, .openClass:
            // parse_bracket_symbol
            guard index < bytes.count else { throw RegexError.bracket }
            var name: [UInt8] = []
            while true {
                if name.count >= 32 { throw RegexError.bracket }
                let ch = bytes[index]
                index += 1
                if index >= bytes.count { throw RegexError.bracket }
                if ch == c && bytes[index] == ascii("]") { break }
                name.append(ch)
            }
            index += 1
            switch kind {
            case .openCollating: return .collating(name)
            case .openEquivalence: return .equivalence(name)
            default: return .characterClass(name)
            }
        case .range where !acceptHyphen:
            // A `-` that starts an element must end the bracket.
            if peekBracket(index).0 != .close { throw RegexError.range }
            return .byte(c)
        default:
            return .byte(c)
        }
    }
}

// MARK: - Compilation to an NFA program

private struct RegexCompiler {
    static let maximumInstructions = 10_000

    let nodes: [RegexNode]
    var program: [RegexInstruction] = []

    init(nodes: [RegexNode]) { self.nodes = nodes }

    @discardableResult
    mutating func append(_ instruction: RegexInstruction) throws(RegexSyntaxError) -> Int {
        if program.count >= RegexCompiler.maximumInstructions { throw RegexError.size }
        program.append(instruction)
        return program.count - 1
    }

    mutating func emit(_ node: Int) throws(RegexSyntaxError) {
        switch nodes[node] {
        case .empty: break
        case .byte(let b): try append(.byte(b))
        case .set(let set): try append(.set(set))
        case .any: try append(.any)
        case .assertion(let assertion): try append(.assertion(assertion))
        case .concatenation(let items):
            for item in items { try emit(item) }
        case .alternation(let items):
            var jumps: [Int] = []
            for (k, item) in items.enumerated() {
                if k == items.count - 1 {
                    try emit(item)
                } else {
                    let split = try append(.split(0, 0))
                    try emit(item)
                    jumps.append(try append(.jump(0)))
                    program[split] = .split(split + 1, program.count)
                }
            }
            for jump in jumps { program[jump] = .jump(program.count) }
        case .repetition(let child, let minimum, let maximum):
            for _ in 0..<minimum { try emit(child) }
            if maximum == -1 {
                let loop = try append(.split(0, 0))
                try emit(child)
                try append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            } else if maximum > minimum {
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(try append(.split(0, 0)))
                    try emit(child)
                }
                for split in splits { program[split] = .split(split + 1, program.count) }
            }
        }
    }
}
