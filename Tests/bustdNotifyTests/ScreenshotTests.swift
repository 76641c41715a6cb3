import Foundation
import Testing

/// The programs of the screenshot test, and where it keeps its screenshots.
enum DesktopTools {
    static let xvfb = "/usr/bin/Xvfb"
    static let dunst = "/usr/bin/dunst"
    static let dbusSend = "/usr/bin/dbus-send"
    /// dunst's own client (its history runs busctl, from systemd).
    static let dunstctl = "/usr/bin/dunstctl"
    static let busctl = "/usr/bin/busctl"
    static let importTool = "/usr/bin/import"
    // /usr/bin, not whatever comes first on PATH: ImageMagick's own convert and compare.
    static let convert = "/usr/bin/convert"
    static let compare = "/usr/bin/compare"

    static var canRun: Bool {
        guard geteuid() == 0 else { return false }
        let tools = ["/usr/bin/setpriv", "/usr/bin/dbus-daemon", dbusSend, xvfb, dunst, dunstctl, busctl, importTool, convert, compare]
        return tools.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// <package>/.build/test-artifacts
    static let artifacts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-artifacts").path
}

/// A virtual X display (Xvfb, run by root) for the screenshot test. Xvfb picks
/// a free display number itself (-displayfd) and reports it once it accepts
/// connections; the server is killed when this goes away.
final class VirtualDisplay {
    let process = Process()
    let number: Int
    var name: String { ":\(number)" }
    private var socketPath: String { "/tmp/.X11-unix/X\(number)" }
    private var socketInode: ino_t?

    init(logPath: String, timeout: TimeInterval = 15) throws {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let ready = Pipe()
        process.executableURL = URL(fileURLWithPath: DesktopTools.xvfb)
        process.arguments = ["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-noreset"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = ready
        process.standardError = FileHandle(forWritingAtPath: logPath) ?? FileHandle.nullDevice
        try process.run()
        // The display number, then a newline, on the pipe; poll with a deadline.
        let deadline = Date().addingTimeInterval(timeout)
        var text = ""
        let descriptor = ready.fileHandleForReading.fileDescriptor
        while !text.hasSuffix("\n") {
            let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            var reader = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            var byte: UInt8 = 0
            guard left > 0, poll(&reader, 1, left) == 1, read(descriptor, &byte, 1) == 1 else {
                process.stop()
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw HarnessError("Xvfb reported no display within \(Int(timeout)) s; its log:\n\(log)")
            }
            text.append(Character(UnicodeScalar(byte)))
        }
        guard let number = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.stop()
            throw HarnessError("Xvfb reported \(text.debugDescription) as its display")
        }
        self.number = number
        var status = stat()
        if stat(socketPath, &status) == 0 { socketInode = status.st_ino }
    }

    deinit { stop() }

    /// SIGKILL (see Process.stop); then removes the socket file Xvfb could not,
    /// if it is still the one this server made. Returns whether Xvfb died.
    @discardableResult
    func stop() -> Bool {
        guard process.stop() else { return false }
        var status = stat()
        if let inode = socketInode, stat(socketPath, &status) == 0, status.st_ino == inode { unlink(socketPath) }
        socketInode = nil
        return true
    }
}

/// bustd-notify --test against a real notification server (dunst) on a
/// virtual display, with a screenshot kept in .build/test-artifacts/; the
/// text is read back from dunst (`dunstctl history`), since pixels change
/// for any notification.
@Suite(
    .serialized,
    .enabled(
        if: DesktopTools.canRun,
        "needs root, setpriv, dbus-daemon, dbus-send, Xvfb, dunst, dunstctl, busctl and ImageMagick (import, convert, compare)"))
struct ScreenshotTests {
    @Test func testNotificationIsVisibleOnADesktop() throws {
        try FileManager.default.createDirectory(atPath: DesktopTools.artifacts, withIntermediateDirectories: true)
        let before = DesktopTools.artifacts + "/bustd-notify-screenshot-before.png"
        let after = DesktopTools.artifacts + "/bustd-notify-screenshot.png"
        for path in [before, after] { try? FileManager.default.removeItem(atPath: path) }

        let session = try NotifySession()
        try session.startBus()
        let display = try VirtualDisplay(logPath: session.directory + "/xvfb.log")
        defer { #expect(display.stop(), "Xvfb did not die") }

        let dunstLog = session.directory + "/dunst.log"
        _ = FileManager.default.createFile(atPath: dunstLog, contents: nil)
        let dunst = try session.start([DesktopTools.dunst], environment: ["DISPLAY": display.name], log: dunstLog)
        defer { #expect(dunst.stop(), "dunst did not die") }
        try waitForNotificationServer(session, dunst: dunst, log: dunstLog)

        try run(DesktopTools.importTool, ["-window", "root", "-display", display.name, before], in: session)

        let test = try session.start([NotifySession.binary, "--test"], log: session.notifierLogPath)
        defer { test.stop() }
        let status = try test.waitForExit("bustd-notify --test", timeout: 20)
        #expect(status == 0, "bustd-notify --test failed; its log:\n\(session.notifierLog)")
        usleep(1_000_000)  // dunst draws the notification
        try run(DesktopTools.importTool, ["-window", "root", "-display", display.name, after], in: session)
        #expect(dunst.isRunning, "dunst exited; its log:\n\(contents(of: dunstLog))")

        // The screenshot is there, not a near-empty PNG, not one colour,
        // and not the desktop as it was before the notification.
        let size = (try FileManager.default.attributesOfItem(atPath: after)[.size] as? NSNumber)?.intValue ?? 0
        #expect(size > 2_000, "\(after) is only \(size) bytes")
        let figures = try run(DesktopTools.convert, [after, "-format", "%[fx:standard_deviation] %k", "info:"], in: session)
            .split(separator: " ")
        let deviation = figures.first.flatMap { Double($0) } ?? 0
        let colours = figures.count > 1 ? Int(figures[1]) ?? 0 : 0
        #expect(deviation > 0.02, "standard deviation \(deviation): \(after) looks blank")
        #expect(colours > 16, "\(colours) colours: \(after) has no rendered text")
        // compare prints the number of differing pixels; it exits 1 when they differ.
        let differing = try run(DesktopTools.compare, ["-metric", "AE", before, after, "null:"], in: session, allowed: [0, 1])
        let pixels = Double(differing.split(separator: " ").first ?? "") ?? 0
        #expect(pixels > 5_000, "only \(pixels) pixels differ from the screenshot before the notification")
        print(
            "bustd-notify screenshot: \(after), \(size) bytes, \(colours) colours, "
                + "standard deviation \(deviation), \(Int(pixels)) pixels changed")

        // Pixels change for any notification: the text is checked in dunst
        // itself. Its history holds closed notifications, so close it first.
        try sessionOutput([DesktopTools.dunstctl, "close-all"], in: session)
        let history = try sessionOutput([DesktopTools.dunstctl, "history"], in: session)
        let shown = try #require(dunstHistory(history).first, "dunst's history is empty: \(history)")
        #expect(shown["appname"] == "bustd", "\(shown)")
        #expect(shown["summary"] == "Test: bustd killed firefox (PID 4242)", "\(shown)")
        #expect(shown["body"]?.contains("This is a test from bustd-notify --test: nothing was killed.") == true, "\(shown)")
    }

    /// The notifications in `dunstctl history` (busctl's JSON: each field
    /// a {"type", "data"} pair), newest first, as field name to text.
    private func dunstHistory(_ json: String) throws -> [[String: String]] {
        let reply = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let lists = reply?["data"] as? [[[String: Any]]] ?? []
        return (lists.first ?? []).map { fields in
            fields.compactMapValues { ($0 as? [String: Any])?["data"].map { "\($0)" } }
        }
    }

    /// Waits until dunst owns org.freedesktop.Notifications on the session bus,
    /// so that the notification is not left to D-Bus activation.
    private func waitForNotificationServer(_ session: NotifySession, dunst: Process, log: String) throws {
        let deadline = Date().addingTimeInterval(15)
        while true {
            guard dunst.isRunning else { throw HarnessError("dunst exited; its log:\n\(contents(of: log))") }
            let answer = try sessionOutput(
                [
                    DesktopTools.dbusSend, "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.Notifications",
                ], in: session, allowed: nil)
            if answer.contains("boolean true") { return }
            guard Date() < deadline else {
                throw HarnessError("dunst did not take org.freedesktop.Notifications; its log:\n\(contents(of: log))")
            }
            usleep(50_000)
        }
    }

    /// Runs a command as the session's user, on its bus, with a deadline;
    /// returns its output (stdout and stderr). allowed: the exit statuses
    /// taken as success, nil for any.
    @discardableResult
    private func sessionOutput(
        _ command: [String], in session: NotifySession, allowed: Set<Int32>? = [0],
        timeout: TimeInterval = 10
    ) throws -> String {
        let output = session.directory + "/session-output-\(UUID().uuidString.prefix(8))"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let name = URL(fileURLWithPath: command[0]).lastPathComponent
        let status = try session.start(command, log: output).waitForExit(name, timeout: timeout)
        let text = contents(of: output)
        if let allowed, !allowed.contains(status) { throw HarnessError("\(name) exited \(status):\n\(text)") }
        return text
    }

    /// Runs a tool as root with a deadline; returns its output (stdout, then stderr).
    @discardableResult
    private func run(
        _ tool: String, _ arguments: [String], in session: NotifySession,
        allowed: Set<Int32> = [0], timeout: TimeInterval = 20
    ) throws -> String {
        let output = session.directory + "/tool-output-\(UUID().uuidString.prefix(8))"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let handle = FileHandle(forWritingAtPath: output) ?? FileHandle.nullDevice
        process.standardOutput = handle  // one open file: stdout and stderr share its offset
        process.standardError = handle
        try process.run()
        defer { process.stop() }
        let name = URL(fileURLWithPath: tool).lastPathComponent
        let status = try process.waitForExit(name, timeout: timeout)
        let text = contents(of: output)
        guard allowed.contains(status) else { throw HarnessError("\(name) exited \(status):\n\(text)") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func contents(of path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
