import Foundation
import Shared
import Testing

/// A desktop session for bustd-notify's end-to-end tests, owned by an
/// unprivileged user (nobody): its own session bus (dbus-daemon, as
/// dbus-run-session would start it, but started when the test says so),
/// the fake notification server, and the notifier. The fake bustd socket
/// lives in a root-owned directory beside it.
final class NotifySession {
    static let user = "65534"
    static let python = "/usr/bin/python3"
    static let notificationServerScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Resources/fake_notification_server.py").path

    /// The notifier built beside the test bundle.
    static var binary: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("bustd-notify").path
    }

    /// Root, and the tools: setpriv, dbus-daemon, python3 with dbus-python and GObject.
    static var canRun: Bool {
        guard geteuid() == 0 else { return false }
        let tools = ["/usr/bin/setpriv", "/usr/bin/dbus-daemon", python]
        guard tools.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import dbus, dbus.service, dbus.mainloop.glib, gi.repository.GLib"]
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }

    let directory: String
    let sessionDirectory: String
    let socketPath: String
    let recordPath: String
    let notifierLogPath: String
    var busAddress: String { "unix:path=" + sessionDirectory + "/bus" }
    private var processes: [Process] = []
    private(set) var notifier: Process?

    init() throws {
        directory = "/tmp/bustd-notify-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"
        sessionDirectory = directory + "/session"
        socketPath = directory + "/run/bustd.sock"
        recordPath = sessionDirectory + "/notifications.jsonl"
        notifierLogPath = directory + "/notifier.log"
        let files = FileManager.default
        try files.createDirectory(
            atPath: directory + "/run", withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        chmod(directory, 0o755)
        try files.createDirectory(
            atPath: sessionDirectory, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o700])
        chown(sessionDirectory, 65534, 65534)
        files.createFile(atPath: notifierLogPath, contents: nil)
    }

    deinit {
        for process in processes.reversed() where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a command as the session's user with the session's environment.
    @discardableResult
    func start(_ command: [String], environment extra: [String: String] = [:], log: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid", Self.user, "--regid", Self.user, "--clear-groups"] + command
        var environment = [
            "PATH": "/usr/bin:/bin", "HOME": sessionDirectory, "XDG_RUNTIME_DIR": sessionDirectory,
            "XDG_CONFIG_HOME": sessionDirectory + "/config", "DBUS_SESSION_BUS_ADDRESS": busAddress,
        ]
        environment.merge(extra) { $1 }
        process.environment = environment
        let output = log.flatMap { FileHandle(forWritingAtPath: $0) } ?? FileHandle.nullDevice
        output.seekToEndOfFile()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        processes.append(process)
        return process
    }

    func startBus() throws {
        try start(["/usr/bin/dbus-daemon", "--session", "--address=" + busAddress, "--nofork", "--nopidfile"])
        try waitFor("the session bus") { FileManager.default.fileExists(atPath: self.sessionDirectory + "/bus") }
    }

    func startNotificationServer() throws {
        try start([Self.python, Self.notificationServerScript, recordPath])
        try waitFor("the fake notification server") { self.recordLines.contains { $0["ready"] != nil } }
    }

    func startNotifier(_ arguments: [String] = [], environment: [String: String] = [:]) throws {
        notifier = try start(
            [Self.binary, "--socket", socketPath] + arguments, environment: environment,
            log: notifierLogPath)
    }

    var notifierLog: String { (try? String(contentsOfFile: notifierLogPath, encoding: .utf8)) ?? "" }

    var recordLines: [[String: Any]] {
        let text = (try? String(contentsOfFile: recordPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The recorded Notify calls (not the ready line).
    var notifyCalls: [[String: Any]] { recordLines.filter { $0["summary"] != nil } }

    func waitFor(_ what: String, timeout: TimeInterval = 10, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else {
                throw HarnessError("timed out waiting for \(what); notifier log:\n\(notifierLog)")
            }
            usleep(10_000)
        }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A stand-in for the bustd daemon's event socket, run by root (the test).
final class FakeDaemon {
    let instance: String
    private let listener: Int32
    private let path: String
    private var client: Int32 = -1
    private var sequence: UInt64 = 0
    private(set) var subscribeRequest: SubscribeRequest?

    init(path: String, instance: String = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())) throws {
        self.path = path
        self.instance = instance
        unlink(path)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 4) == 0 else { throw HarnessError("cannot listen on \(path): errno \(errno)") }
        chmod(path, 0o666)
    }

    deinit { stop() }

    private var stopped = false

    /// Closes and removes the socket, once: a later call must not close a
    /// descriptor number, or unlink a path, that is someone else's by then.
    func stop() {
        guard !stopped else { return }
        stopped = true
        if client >= 0 {
            close(client)
            client = -1
        }
        close(listener)
        unlink(path)
    }

    /// Accepts the notifier, greets it and reads its subscribe request.
    func acceptSubscriber(timeout: TimeInterval = 10) throws {
        var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(timeout * 1000)) == 1 else { throw HarnessError("no subscriber connected") }
        client = accept(listener, nil, nil)
        let hello = Event.Hello(
            daemonVersion: bustdVersion, scope: .ownUID, peerUID: 65534,
            retained: sequence == 0 ? nil : 1...sequence)
        try write(Event(sequence: sequence, instance: instance, timeMs: Self.nowMs, payload: .hello(hello)).encodeLine())
        var line: [UInt8] = []
        var byte: UInt8 = 0
        var reader = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        while byte != 0x0A {
            guard poll(&reader, 1, 5_000) == 1, read(client, &byte, 1) == 1 else { throw HarnessError("no subscribe request") }
            line.append(byte)
        }
        subscribeRequest = try decodeSubscribeRequest(line: line)
    }

    /// Sends the next event; returns the wall-clock time it left, in seconds.
    @discardableResult
    func send(_ payload: Event.Payload) throws -> Double {
        sequence += 1
        let line = Event(sequence: sequence, instance: instance, timeMs: Self.nowMs, payload: payload).encodeLine()
        let sentAt = Date().timeIntervalSince1970
        try write(line)
        return sentAt
    }

    private func write(_ line: String) throws {
        let bytes = Array(line.utf8)
        guard Glibc.write(client, bytes, bytes.count) == bytes.count else { throw HarnessError("write failed: errno \(errno)") }
    }

    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

extension Process {
    /// Waits, at most `timeout` seconds, for the process to exit; on timeout
    /// kills it (`stop`) and throws. Never blocks in waitUntilExit on a live process.
    func waitForExit(_ what: String, timeout: TimeInterval) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            guard Date() < deadline else {
                stop()
                throw HarnessError("\(what) did not exit within \(Int(timeout)) s")
            }
            usleep(10_000)
        }
        waitUntilExit()  // it has exited: this only settles the termination status
        return terminationStatus
    }

    /// SIGKILL, then waits at most `timeout` seconds for the process to die;
    /// waitUntilExit only once it has. Returns whether it died.
    @discardableResult
    func stop(timeout: TimeInterval = 5) -> Bool {
        guard isRunning else { return true }
        kill(processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning, Date() < deadline { usleep(10_000) }
        guard !isRunning else { return false }
        waitUntilExit()
        return true
    }
}
