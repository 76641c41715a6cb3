import Foundation
import Testing

@testable import bustd

@Suite struct PressureTests {
    @Test func parsesSomeAndFull() throws {
        let text = "some avg10=12.34 avg60=5.00 avg300=0.10 total=123456\nfull avg10=3.21 avg60=1.00 avg300=0.00 total=789\n"
        let figures = try #require(withBytes(text) { parsePressure($0) })
        #expect(figures.some == PressureLine(avg10: 1234, avg60: 500, avg300: 10, totalMicroseconds: 123456))
        #expect(figures.full.avg10 == 321)
        #expect(figures.line(.some).avg10 == 1234)
        #expect(figures.line(.full).avg10 == 321)
    }

    @Test func fullLineMayBeMissing() throws {
        let figures = try #require(withBytes("some avg10=1.00 avg60=0.00 avg300=0.00 total=1\n") { parsePressure($0) })
        #expect(figures.full == PressureLine())
    }

    @Test func malformedPressureIsRejected() {
        for text in [
            "", "full avg10=1.00 avg60=0.00 avg300=0.00 total=1\n", "some avg10=abc avg60=0 avg300=0 total=0\n",
            "some avg10=1.00 avg60=0.00 total=1\n", "some avg10 avg60 avg300 total\n",
        ] {
            #expect(withBytes(text) { parsePressure($0) } == nil, "\(text)")
        }
    }

    @Test func missingFileMeansPSIUnavailable() {
        let source = PressureSource(path: "/nonexistent/pressure/memory")
        guard case .unavailable(let reason) = source.availability else {
            Issue.record("expected unavailable")
            return
        }
        #expect(reason.contains("psi=0"))
        #expect(source.read() == nil)
        #expect(source.armTrigger() == nil && source.triggerFD == -1)
    }

    @Test func unreadableFileMeansPSIUnavailable() throws {
        // An empty file stands for a PSI file that reads as an error.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("psi-\(UUID())").path
        FileManager.default.createFile(atPath: path, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = PressureSource(path: path)
        #expect(source.availability != .available)
    }

    @Test func realPressureFileArmsATrigger() throws {
        let source = PressureSource(path: "/proc/pressure/memory")
        try #require(source.availability == .available, "this machine has no PSI")
        #expect(source.read() != nil)
        #expect(source.armTrigger() == nil)
        #expect(source.triggerFD >= 0)
        #expect(source.triggerDescription.hasPrefix("some 150000 "))
    }
}
