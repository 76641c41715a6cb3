import Foundation
import Testing

@testable import bustd

/// The man page and --help describe the same options: one missing from
/// either is a test failure, not a surprise for a reader.
@Suite struct ManPageTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func everyOptionOfHelpIsInTheManPageAndBack() throws {
        let page = try String(contentsOf: Self.repository.appendingPathComponent("docs/bustd.8.scd"), encoding: .utf8)
        let documented = manPageOptions(page)
        let helped = helpOptions(helpText)
        #expect(!helped.isEmpty && !documented.isEmpty)
        #expect(helped.subtracting(documented).isEmpty, "in --help, not in bustd(8): \(helped.subtracting(documented).sorted())")
        #expect(documented.subtracting(helped).isEmpty, "in bustd(8), not in --help: \(documented.subtracting(helped).sorted())")
        // And both know every option the parser takes.
        for option in helped { #expect(parserKnows(option), "--help lists \(option), the parser refuses it") }
    }

    @Test func theNotifiersToo() throws {
        let page = try String(contentsOf: Self.repository.appendingPathComponent("docs/bustd-notify.1.scd"), encoding: .utf8)
        let notifier = URL(fileURLWithPath: Harness.binary).deletingLastPathComponent().appendingPathComponent("bustd-notify")
        let process = Process()
        process.executableURL = notifier
        process.arguments = ["--help"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let help = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let documented = manPageOptions(page)
        let helped = helpOptions(help)
        #expect(!helped.isEmpty)
        #expect(
            helped == documented,
            "only in --help: \(helped.subtracting(documented).sorted()); only in bustd-notify(1): \(documented.subtracting(helped).sorted())"
        )
    }
}

/// The long options a scdoc page defines: its OPTIONS section's "*--name*" lines.
func manPageOptions(_ page: String) -> Set<String> {
    guard let start = page.range(of: "\n# OPTIONS\n") else { return [] }
    let section = page[start.upperBound...].prefix { _ in true }
    let end = section.range(of: "\n# ")?.lowerBound ?? section.endIndex
    var options = Set<String>()
    for line in section[..<end].split(separator: "\n") where line.hasPrefix("*-") {
        options.formUnion(longOptions(in: String(line)))
    }
    return options
}

/// The long options --help lists: lines of its Options section that start
/// with an option.
func helpOptions(_ help: String) -> Set<String> {
    var options = Set<String>()
    var inOptions = false
    for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("Options:") || line.hasPrefix("OPTIONS") {
            inOptions = true
            continue
        }
        if inOptions && !line.isEmpty && !line.hasPrefix(" ") { inOptions = false }
        let trimmed = line.drop { $0 == " " }
        if inOptions && trimmed.hasPrefix("-"), let first = longOptions(in: String(trimmed)).first {
            options.insert(first)
        }
    }
    return options
}

func longOptions(in text: String) -> [String] {
    var found: [String] = []
    var rest = Substring(text)
    while let range = rest.range(of: "--") {
        let name = rest[range.upperBound...].prefix { $0.isLetter || $0 == "-" }
        if name.count > 1 { found.append("--" + name) }
        rest = rest[range.upperBound...].dropFirst(max(name.count, 1))
    }
    return found
}

private func parserKnows(_ option: String) -> Bool {
    let value: [String: String] = [
        "--min-available": "10", "--min-swap": "10", "--psi": "10", "--psi-metric": "some",
        "--psi-duration": "1", "--grace": "1", "--cooldown": "1", "--unkillables": "x",
        "--protect-unit": "x.service", "--prefer": "x", "--avoid": "x", "--scope": "/x",
        "--pidfile": "/x", "--socket": "/x", "--socket-group": "x", "--min-available-size": "1G",
        "--min-swap-size": "1G", "--report": "1", "--metrics-file": "/x",
        "--pre-kill": "/usr/bin/true", "--post-kill": "/usr/bin/true",
    ]
    let arguments = [option] + (value[option].map { [$0] } ?? [])
    return (try? parseCommandLine(arguments)) != nil
}
