import Foundation
import Testing

@testable import Shared

/// Everything a process may put in its name: quotes, backslashes, line
/// breaks, terminal escapes, the `)` that ends comm in /proc/PID/stat,
/// spaces, and characters beyond ASCII and beyond the BMP.
private let hostile = "say \"hi\" \\ C:\\x\nnext\ttab\r\u{01}\u{1B}[31m\u{7F} ) (x) é 中 😀"
private let hostileBytes = Array(hostile.utf8)

private let figures = Event.Figures(availablePercent: 350, swapFreePercent: 1005, pressurePercent: 2599)
private let thresholds = Event.Thresholds(
    memoryTerminatePercent: 1000, memoryKillPercent: 500,
    swapTerminatePercent: 1000, swapKillPercent: 500, pressureCutoffPercent: 2500)

private func event(_ payload: Event.Payload, sequence: UInt64 = 7) -> Event {
    Event(sequence: sequence, instance: "0123456789abcdef0123456789abcdef", timeMs: 1_764_180_000_123, payload: payload)
}

private func kill(
    name: [UInt8] = hostileBytes, commandLine: [UInt8] = hostileBytes, truncated: Bool = false,
    optionalsSet: Bool = true
) -> Event.Kill {
    Event.Kill(
        pid: 4242, uid: 1000, userName: optionalsSet ? hostile : nil, processName: name,
        commandLine: commandLine, commandLineTruncated: truncated,
        executablePath: optionalsSet ? Array("/opt/my app/bin/x (1)".utf8) : nil,
        rssKiB: 3_145_728, swapKiB: 0, oomScore: 812, oomScoreAdj: -1000, signal: "SIGTERM",
        rule: .lowMemory,
        figures: optionalsSet ? figures : Event.Figures(availablePercent: 0, swapFreePercent: 10_000),
        thresholds: thresholds, dryRun: !optionalsSet)
}

/// One event of every type, optional fields both set and unset.
private let samples: [Event] = [
    event(.hello(Event.Hello(daemonVersion: "0.1.0", scope: .ownUID, peerUID: 1000, retained: 3...41))),
    event(.hello(Event.Hello(daemonVersion: hostile, scope: .all, peerUID: 0, retained: nil)), sequence: 0),
    event(.kill(kill())),
    event(.kill(kill(optionalsSet: false)), sequence: .max),
    event(
        .killed(
            Event.Killed(
                pid: 4242, uid: 1000, processName: hostileBytes, timeToExitMs: 120,
                recoveredKiB: -2048, signals: "SIGTERM, then SIGKILL"))),
    event(.killFailed(Event.KillFailed(pid: .max, uid: .max, processName: [], reason: hostile))),
    event(
        .warning(
            Event.Warning(
                figures: figures, thresholds: thresholds,
                victim: Event.Victim(pid: 1, uid: 0, processName: hostileBytes)))),
    event(
        .warning(
            Event.Warning(
                figures: Event.Figures(availablePercent: 1, swapFreePercent: 0),
                thresholds: thresholds, victim: nil))),
    event(.kernelOOM(Event.KernelOOM(count: 3, source: .memoryEvents, pid: 99, processName: hostileBytes, uid: 1001))),
    event(.kernelOOM(Event.KernelOOM(count: .max, source: .vmstat))),
]

private func decodingError(_ line: [UInt8]) -> EventDecodingError? {
    do {
        _ = try decodeEvent(line: line)
        return nil
    } catch {
        return error
    }
}

private func decodingError(_ line: String) -> EventDecodingError? { decodingError(Array(line.utf8)) }

/// A valid line to break in one place at a time.
private let validLine = event(
    .killed(
        Event.Killed(
            pid: 4242, uid: 1000, processName: Array("chrome".utf8),
            timeToExitMs: 120, recoveredKiB: -2048, signals: "SIGKILL"))
).encodeLine()

private func replacing(_ old: String, with new: String) -> String {
    #expect(validLine.contains(old), "the test changes nothing: \(old)")
    return validLine.replacingOccurrences(of: old, with: new)
}

@Suite struct EventCodingTests {
    // MARK: Round trips

    @Test(arguments: samples)
    func roundTrips(_ original: Event) throws {
        let line = original.encodeLine()
        #expect(line.hasSuffix("}\n"))
        #expect(line.utf8.filter { $0 == 0x0A }.count == 1, "one line, one newline")
        #expect(try decodeEvent(line: line) == original)
        // Also without the newline, as a reader that strips it would pass it.
        #expect(try decodeEvent(line: String(line.dropLast())) == original)
    }

    @Test func warningSaysWhatTheRuleAwaits() {
        func awaits(available: Int, swap: Int, swapLimit: Int = 1000) -> [Bool] {
            var limits = thresholds
            limits.swapTerminatePercent = swapLimit
            let a = Event.Warning(
                figures: Event.Figures(availablePercent: available, swapFreePercent: swap),
                thresholds: limits, victim: nil
            ).awaits
            return [a.memory, a.swap]
        }
        #expect(awaits(available: 0, swap: 1332) == [false, true])
        #expect(awaits(available: 1400, swap: 1400) == [true, true])
        #expect(awaits(available: 1400, swap: 0) == [true, false])  // no swap
        #expect(awaits(available: 1400, swap: 10_000, swapLimit: 10_000) == [true, false])  // -s 100
        #expect(awaits(available: 1000, swap: 1000) == [false, false])  // at the limits
    }

    @Test func wireFormatIsFixed() {
        #expect(
            validLine
                == #"{"v":1,"type":"killed","seq":7,"instance":"0123456789abcdef0123456789abcdef","time":1764180000123,"pid":4242,"uid":1000,"name":"chrome","time_to_exit_ms":120,"recovered_kib":-2048,"signals":"SIGKILL"}"#
                + "\n")
        let warning = event(.warning(Event.Warning(figures: figures, thresholds: thresholds, victim: nil))).encodeLine()
        #expect(warning.contains(#""available_percent":3.5,"swap_free_percent":10.05,"pressure_percent":25.99,"#))
        #expect(warning.contains(#""memory_terminate_percent":10,"memory_kill_percent":5,"#))
        #expect(warning.hasSuffix(#""victim_pid":null,"victim_uid":null,"victim_name":null}"# + "\n"))
    }

    @Test func hostileTextIsEscaped() {
        let line = event(.kill(kill())).encodeLine()
        #expect(line.contains(#""name":"say \"hi\" \\ C:\\x\nnext\ttab\r\u0001\u001b[31m\u007f ) (x) é 中 😀""#))
    }

    @Test func everyByteIsEscapedToPrintableText() throws {
        let allBytes = (0...255).map { UInt8($0) }
        let original = event(.kill(kill(name: allBytes, commandLine: allBytes.reversed())))
        let line = original.encodeLine()
        #expect(!line.utf8.dropLast().contains { $0 < 0x20 || $0 == 0x7F }, "no raw control character")
        let decoded = try decodeEvent(line: line)
        guard case .kill(let decodedKill) = decoded.payload else {
            Issue.record("not a kill")
            return
        }
        // ASCII survives as is; the 128 bytes that are not UTF-8 on their own become U+FFFD.
        #expect(decodedKill.processName == Array(0...127) + Array(repeating: Array("\u{FFFD}".utf8), count: 128).flatMap { $0 })
    }

    @Test func invalidUTF8BecomesReplacementCharacter() throws {
        var withInvalid = kill(name: [0x61, 0xFF, 0x62], commandLine: [0xC0, 0xAF, 0x20, 0xE2, 0x9C])
        withInvalid.executablePath = [0x2F, 0xED, 0xA0, 0x80]  // an encoded surrogate
        let decoded = try decodeEvent(line: event(.kill(withInvalid)).encodeLine())
        guard case .kill(let result) = decoded.payload else {
            Issue.record("not a kill")
            return
        }
        #expect(result.processName == Array("a\u{FFFD}b".utf8))
        #expect(result.commandLine == Array("\u{FFFD}\u{FFFD} \u{FFFD}\u{FFFD}".utf8))
        #expect(result.executablePath == Array("/\u{FFFD}\u{FFFD}\u{FFFD}".utf8))
    }

    // MARK: Bounds

    private func sentKill(_ kill: Event.Kill) throws -> Event.Kill {
        let decoded = try decodeEvent(line: event(.kill(kill)).encodeLine())
        guard case .kill(let result) = decoded.payload else { throw EventDecodingError(.unknownType, "not a kill") }
        return result
    }

    @Test func longCommandLinesAreCutAndFlagged() throws {
        let long = try sentKill(kill(commandLine: Array(repeating: UInt8(ascii: "a"), count: 600)))
        #expect(long.commandLine == Array(repeating: UInt8(ascii: "a"), count: maxCommandLineBytes))
        #expect(long.commandLineTruncated)

        let exact = try sentKill(kill(commandLine: Array(repeating: UInt8(ascii: "b"), count: maxCommandLineBytes)))
        #expect(exact.commandLine.count == maxCommandLineBytes)
        #expect(!exact.commandLineTruncated)

        // A cut inside "é" backs off to before it rather than leaving half of it.
        let accented = Array(repeating: UInt8(ascii: "c"), count: maxCommandLineBytes - 1) + Array("é and more".utf8)
        let cut = try sentKill(kill(commandLine: accented))
        #expect(cut.commandLine == Array(accented.prefix(maxCommandLineBytes - 1)))
        #expect(cut.commandLineTruncated)

        // The daemon's own flag (it read only part of the file) is kept.
        #expect(try sentKill(kill(commandLine: Array("short".utf8), truncated: true)).commandLineTruncated)
    }

    @Test func worstCaseEventFitsInALine() throws {
        // Bytes that escape six-fold (\u0001) in every text field, over the caps.
        let worst = Array(repeating: UInt8(0x01), count: 10_000)
        var huge = kill(name: worst, commandLine: worst)
        huge.executablePath = worst
        huge.userName = String(decoding: worst, as: UTF8.self)
        huge.signal = huge.userName!
        let original = Event(sequence: .max, instance: huge.signal, timeMs: .min, payload: .kill(huge))
        let line = original.encodeLine()
        #expect(line.utf8.count <= maxLineBytes)
        let decoded = try decodeEvent(line: line)
        guard case .kill(let result) = decoded.payload else {
            Issue.record("not a kill")
            return
        }
        #expect(result.processName.count == maxTextFieldBytes)
        #expect(result.commandLine.count == maxCommandLineBytes)
        #expect(decoded.instance.utf8.count == maxTextFieldBytes)
    }

    // MARK: Decoding details

    @Test func decodesEveryEscape() throws {
        let name = #"\"\\\/\b\f\n\r\t\u00e9\u4E2D\ud83d\ude00\u0000"#
        let decoded = try decodeEvent(line: replacing(#""name":"chrome""#, with: #""name":""# + name + #"""#))
        guard case .killed(let killed) = decoded.payload else {
            Issue.record("not killed")
            return
        }
        #expect(killed.processName == Array("\"\\/\u{08}\u{0C}\n\r\té中😀\u{0}".utf8))
    }

    @Test func percentagesAreReadAsHundredths() throws {
        let line = event(.warning(Event.Warning(figures: figures, thresholds: thresholds, victim: nil))).encodeLine()
        func available(_ text: String) -> Result<Int, EventDecodingError> {
            let changed = line.replacingOccurrences(of: #""available_percent":3.5"#, with: #""available_percent":"# + text)
            do {
                guard case .warning(let warning) = try decodeEvent(line: changed).payload else { return .success(-1) }
                return .success(warning.figures.availablePercent)
            } catch {
                return .failure(error)
            }
        }
        #expect(try available("3.5").get() == 350)
        #expect(try available("3").get() == 300)
        #expect(try available("3.50").get() == 350)
        #expect(try available("0.05").get() == 5)
        #expect(try available("-0.5").get() == -50)
        #expect(throws: EventDecodingError.self) { try available("3.456").get() }
        #expect(throws: EventDecodingError.self) { try available("1e2").get() }
        #expect(throws: EventDecodingError.self) { try available("99999999999999999999").get() }
        #expect(throws: EventDecodingError.self) { try available("\"3.5\"").get() }
    }

    @Test func unknownKeysAreIgnored() throws {
        let extended = validLine.replacingOccurrences(
            of: #""pid":4242,"#,
            with: #""future":{"a":[1,2,{"b":null}],"c":"d"},"list":[],"flag":true,"pid":4242,"x":-1.5e3,"#)
        #expect(try decodeEvent(line: extended) == decodeEvent(line: validLine))
    }

    @Test func subjectUIDIsTheConcernedProcessOwner() {
        #expect(samples.map(\.subjectUID) == [nil, nil, 1000, 1000, 1000, .max, 0, nil, 1001, nil])
    }

    @Test func instanceIDsAre32HexDigitsAndDiffer() {
        var generator = SystemRandomNumberGenerator()
        let first = Event.makeInstanceID(using: &generator)
        let second = Event.makeInstanceID(using: &generator)
        #expect(first.utf8.count == 32)
        #expect(first.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        #expect(first != second)
    }

    // MARK: Rejections

    @Test func rejectsMalformedJSON() {
        let cases: [(String, String)] = [
            ("", "empty"),
            ("   \n", "blank"),
            (String(validLine.dropLast(2)), "truncated"),
            (String(validLine.prefix(40)), "cut mid-string"),
            ("[1]", "not an object"),
            (String(repeating: "[", count: 10_000), "10,000 open brackets"),
            (validLine + "x", "trailing garbage"),
            (validLine + validLine, "two objects"),
            (replacing(#""chrome""#, with: #""chr\xome""#), "bad escape"),
            (replacing(#""chrome""#, with: #""chr\u12""#), "short \\u escape"),
            (replacing(#""chrome""#, with: #""chr\u12G4""#), "bad hex digit"),
            (replacing(#""chrome""#, with: #""\ud800""#), "lone high surrogate"),
            (replacing(#""chrome""#, with: #""\ud800\u0041""#), "high surrogate then not a low one"),
            (replacing(#""chrome""#, with: #""a\udc00b""#), "lone low surrogate"),
            (replacing(#""chrome""#, with: #""\udc00\ud800""#), "surrogates in the wrong order"),
            (replacing(#""chrome""#, with: "\"chr\u{0}me\""), "raw NUL in a string"),
            (replacing(#""chrome""#, with: "\"chr\nme\""), "raw newline in a string"),
            (replacing(#""chrome""#, with: "\"chr\u{1B}me\""), "raw escape character in a string"),
            (replacing(#","uid""#, with: "\u{0},\"uid\""), "raw NUL between members"),
            (replacing(#":4242"#, with: ":04242"), "leading zero"),
            (replacing(#":4242"#, with: ":+4242"), "plus sign"),
            (replacing(#":4242"#, with: ":4242."), "no digit after the point"),
            (replacing(#":4242"#, with: ":-"), "lone minus"),
            (replacing(#":4242"#, with: ":tru"), "cut literal"),
            (replacing(#":4242"#, with: ":NaN"), "NaN"),
            (replacing(#",""#, with: #",,""#), "double comma"),
            (replacing("}", with: ",}"), "trailing comma"),
            (replacing(#""pid":4242"#, with: #""pid":4242,"pid":4242"#), "duplicate key"),
            (replacing(#""pid""#, with: "pid"), "unquoted key"),
            (replacing(#""pid":"#, with: #""pid" 4242 :"#), "missing colon"),
            ("{'v':1}", "single quotes"),
        ]
        for (line, label) in cases {
            let error = decodingError(line)
            #expect(error?.kind == .malformedJSON, "\(label): \(String(describing: error))")
            #expect(error?.message.hasPrefix("malformed JSON at byte ") == true, "\(label)")
        }
    }

    @Test func rejectsInvalidUTF8InTheLine() {
        var bytes = Array(validLine.utf8)
        let nameStart = bytes.firstIndex(of: UInt8(ascii: "c"))!  // "chrome"
        bytes[nameStart] = 0xFF
        #expect(decodingError(bytes)?.kind == .malformedJSON)
        bytes[nameStart] = 0xC3  // a lead byte followed by ASCII
        #expect(decodingError(bytes)?.kind == .malformedJSON)
    }

    @Test func rejectsDeepNesting() {
        let deep = replacing(#""pid":4242"#, with: #""x":"# + String(repeating: "[", count: 10_000) + #","pid":4242"#)
        #expect(decodingError(deep)?.kind == .tooDeeplyNested)
        // Within the limit, nesting in an unknown key is fine.
        let allowedDepth = maxNestingDepth - 1
        let shallow = replacing(
            #""pid":4242"#,
            with: #""x":"# + String(repeating: "[", count: allowedDepth)
                + String(repeating: "]", count: allowedDepth) + #","pid":4242"#)
        #expect(decodingError(shallow) == nil)
        let tooDeep = replacing(
            #""pid":4242"#,
            with: #""x":"# + String(repeating: "[", count: allowedDepth + 1)
                + String(repeating: "]", count: allowedDepth + 1) + #","pid":4242"#)
        #expect(decodingError(tooDeep)?.kind == .tooDeeplyNested)
    }

    @Test func rejectsOverlongLines() {
        let padded = replacing(#""pid":4242"#, with: #""pad":""# + String(repeating: "a", count: maxLineBytes) + #"","pid":4242"#)
        #expect(decodingError(padded)?.kind == .lineTooLong)
    }

    @Test func rejectsWrongAndMissingFields() {
        let cases: [(String, EventDecodingError.Kind, String)] = [
            (replacing(#""pid":4242"#, with: #""pid":"4242""#), .wrongType, "pid as a string"),
            (replacing(#""pid":4242"#, with: #""pid":4242.0"#), .wrongType, "pid with a decimal"),
            (replacing(#""pid":4242"#, with: #""pid":4e3"#), .wrongType, "pid with an exponent"),
            (replacing(#""pid":4242"#, with: #""pid":null"#), .wrongType, "pid null"),
            (replacing(#""pid":4242"#, with: #""pid":true"#), .wrongType, "pid a boolean"),
            (replacing(#""pid":4242"#, with: #""pid":[4242]"#), .wrongType, "pid an array"),
            (replacing(#""name":"chrome""#, with: #""name":7"#), .wrongType, "name a number"),
            (replacing(#""pid":4242,"#, with: ""), .missingField, "no pid"),
            (replacing(#""seq":7,"#, with: ""), .missingField, "no seq"),
            (replacing(#""v":1,"#, with: ""), .missingField, "no version"),
            (replacing(#""type":"killed","#, with: ""), .missingField, "no type"),
            (replacing(#""pid":4242"#, with: #""pid":2147483648"#), .outOfRange, "pid above Int32"),
            (replacing(#""pid":4242"#, with: #""pid":-2147483649"#), .outOfRange, "pid below Int32"),
            (replacing(#""uid":1000"#, with: #""uid":-1"#), .outOfRange, "negative uid"),
            (replacing(#""seq":7"#, with: #""seq":18446744073709551616"#), .outOfRange, "seq above UInt64"),
            (replacing(#""time":1764180000123"#, with: #""time":-9223372036854775809"#), .outOfRange, "time below Int64"),
            (replacing(#""pid":4242"#, with: #""pid":"# + String(repeating: "9", count: 5000)), .outOfRange, "5000 digits"),
            (replacing(#""v":1"#, with: #""v":2"#), .unsupportedVersion, "newer version"),
            (replacing(#""v":1"#, with: #""v":0"#), .unsupportedVersion, "version 0"),
            (replacing(#""v":1"#, with: #""v":"1""#), .wrongType, "version as a string"),
            (replacing(#""type":"killed""#, with: #""type":"reboot""#), .unknownType, "unknown type"),
            (replacing(#""type":"killed""#, with: #""type":"subscribe""#), .unknownType, "a request is not an event"),
        ]
        for (line, kind, label) in cases {
            #expect(decodingError(line)?.kind == kind, "\(label)")
        }
        // Edges that fit.
        #expect(decodingError(replacing(#""seq":7"#, with: #""seq":18446744073709551615"#)) == nil)
        #expect(decodingError(replacing(#""time":1764180000123"#, with: #""time":-9223372036854775808"#)) == nil)
        #expect(decodingError(replacing(#""pid":4242"#, with: #""pid":-0"#)) == nil)
    }

    @Test func errorsSayWhatIsWrong() {
        let unknown = decodingError(replacing(#""type":"killed""#, with: #""type":"re\nboot""#))
        #expect(unknown?.message == #"unknown event type "re\nboot""#)
        #expect(decodingError(replacing(#""pid":4242,"#, with: ""))?.message == #"missing field "pid""#)
        #expect(
            decodingError(replacing(#""v":1"#, with: #""v":2"#))?.description
                == "protocol version 2 is newer than the supported version 1")
    }

    @Test func rejectsInconsistentOptionalGroups() {
        let hello = event(.hello(Event.Hello(daemonVersion: "0.1.0", scope: .all, peerUID: 0, retained: 3...41))).encodeLine()
        #expect(decodingError(hello.replacingOccurrences(of: #""newest_seq":41"#, with: #""newest_seq":null"#))?.kind == .invalidValue)
        #expect(decodingError(hello.replacingOccurrences(of: #""newest_seq":41"#, with: #""newest_seq":2"#))?.kind == .invalidValue)
        #expect(decodingError(hello.replacingOccurrences(of: #""scope":"all""#, with: #""scope":"root""#))?.kind == .invalidValue)

        let warning = event(
            .warning(
                Event.Warning(
                    figures: figures, thresholds: thresholds,
                    victim: Event.Victim(pid: 1, uid: 2, processName: [0x41])))
        ).encodeLine()
        #expect(decodingError(warning.replacingOccurrences(of: #""victim_uid":2"#, with: #""victim_uid":null"#))?.kind == .invalidValue)
        #expect(decodingError(warning) == nil)
    }

    // MARK: Robustness

    @Test func randomInputOnlyReturnsOrThrows() throws {
        var random = SplitMix64(seed: 0xB057D)
        let alphabet = Array(#"{}[]":,\ -.0123456789eEtruefalsnul"#.utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xF0, 0xFF]
        let valid = samples.map { Array($0.encodeLine().utf8) }
        var decodedCount = 0
        for round in 0..<20_000 {
            let input: [UInt8]
            if round % 2 == 0 {
                let length = Int.random(in: 0...120, using: &random)
                input = (0..<length).map { _ in
                    Bool.random(using: &random) ? alphabet.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
                }
            } else {
                input = mutate(valid.randomElement(using: &random)!, using: &random)
            }
            do {
                let decoded = try decodeEvent(line: input)
                decodedCount += 1
                // Whatever was accepted must survive its own round trip.
                #expect(try decodeEvent(line: decoded.encodeLine()) == decoded, "round \(round)")
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
        // Mutations that miss anything important (a digit in a number) still decode.
        #expect(decodedCount > 0)
    }

    private func mutate(_ line: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        var bytes = line
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { break }
            let index = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.remove(at: index)
            case 2: bytes.insert(bytes[Int.random(in: 0..<bytes.count, using: &random)], at: index)
            default: bytes = Array(bytes[..<index])
            }
        }
        return bytes
    }

    // MARK: Subscribe requests

    @Test(arguments: [
        SubscribeRequest(), SubscribeRequest(since: 41), SubscribeRequest(since: .max, instance: hostile),
        SubscribeRequest(instance: "0123456789abcdef0123456789abcdef"),
    ])
    func subscribeRequestsRoundTrip(_ request: SubscribeRequest) throws {
        let line = request.encodeLine()
        #expect(line.hasSuffix("}\n") && line.utf8.filter { $0 == 0x0A }.count == 1)
        #expect(try decodeSubscribeRequest(line: line) == request)
    }

    @Test func subscribeRequestWireFormat() throws {
        #expect(
            SubscribeRequest(since: 41, instance: "ab").encodeLine() == #"{"v":1,"type":"subscribe","since":41,"instance":"ab"}"# + "\n")
        #expect(try decodeSubscribeRequest(line: #"{"v":1,"type":"subscribe"}"#) == SubscribeRequest())
        #expect(try decodeSubscribeRequest(line: #"{"type":"subscribe","v":1,"since":5,"extra":[]}"#) == SubscribeRequest(since: 5))
    }

    @Test func rejectsBadSubscribeRequests() {
        func kind(_ line: String) -> EventDecodingError.Kind? {
            do {
                _ = try decodeSubscribeRequest(line: line)
                return nil
            } catch { return error.kind }
        }
        #expect(kind(#"{"v":1,"type":"kill"}"#) == .unknownType)
        #expect(kind(#"{"v":2,"type":"subscribe"}"#) == .unsupportedVersion)
        #expect(kind(#"{"v":1,"type":"subscribe","since":-1}"#) == .outOfRange)
        #expect(kind(#"{"v":1,"type":"subscribe","since":"5"}"#) == .wrongType)
        #expect(kind(#"{"v":1,"type":"subscribe""#) == .malformedJSON)
        #expect(kind(#"{"type":"subscribe"}"#) == .missingField)
    }

    @Test func replayOnlyFromTheSameInstance() {
        #expect(SubscribeRequest(since: 5).replaysFrom(daemonInstance: "a") == 5)
        #expect(SubscribeRequest(since: 5, instance: "a").replaysFrom(daemonInstance: "a") == 5)
        #expect(SubscribeRequest(since: 5, instance: "b").replaysFrom(daemonInstance: "a") == nil)
        #expect(SubscribeRequest(instance: "a").replaysFrom(daemonInstance: "a") == nil)
    }

    // MARK: jq

    /// jq is one of the Makefile's TEST_PACKAGES: without it this fails
    /// rather than passing with nothing checked.
    @Test func jqReadsEveryLine() throws {
        let paths = ["/usr/bin/jq", "/usr/local/bin/jq", "/bin/jq"]
        let jq = try #require(
            paths.first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
            "jq is not installed (it is in the Makefile's TEST_PACKAGES: make test-deps)")
        let allLines = samples.map { $0.encodeLine() }.joined()
        let types = try runJQ(jq, ["-c", ".type"], input: allLines)
        #expect(types == samples.map { "\"" + $0.type.rawValue + "\"\n" }.joined())
        // jq -j prints the string raw: the hostile name comes back byte for byte.
        let killLine = event(.kill(kill())).encodeLine()
        #expect(try runJQ(jq, ["-j", ".name"], input: killLine) == hostile)
        #expect(try runJQ(jq, ["-j", ".available_percent, \" \", .swap_free_percent"], input: killLine) == "3.5 10.05")
    }

    private func runJQ(_ jq: String, _ arguments: [String], input: String) throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: jq)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: output, as: UTF8.self) : nil
    }
}

/// A seeded generator, so a failing fuzz round can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
