import Foundation
import Testing

/// Helpers for tests that run the real bustd binary against processes the
/// test starts itself, confined to a cgroup the test owns.
enum Harness {
    /// The bustd built beside the test bundle (.build/debug/bustd).
    static var binary: String {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("bustd").path
    }

    static var isRoot: Bool { geteuid() == 0 }

    /// CAP_SYS_RESOURCE (linux/capability.h): needed to lower oom_score_adj.
    static let capSysResource = 24

    /// Whether this process holds the capability (CapEff, /proc/self/status).
    /// Root in a container often lacks some.
    static func hasCapability(_ number: Int) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << UInt64(number)) != 0
    }

    /// The cgroup v2 mount: /sys/fs/cgroup/unified on hybrid systems like
    /// these machines, /sys/fs/cgroup on unified ones.
    static var cgroup2Mount: String? {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return nil }
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 2 && fields[2] == "cgroup2" { return String(fields[1]) }
        }
        return nil
    }

    /// The memory controller on cgroup v2: listed in the cgroup2 mount's
    /// cgroup.controllers (on hybrid machines it is on v1 instead).
    static var hasV2MemoryController: Bool {
        guard let mount = cgroup2Mount,
            let controllers = try? String(contentsOfFile: mount + "/cgroup.controllers", encoding: .utf8)
        else { return false }
        return controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("memory")
    }

    /// The cgroup v1 memory controller, mounted where systemd puts it.
    static var hasV1MemoryController: Bool {
        FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    }

    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"

    /// A directory only this test process's user may write to (0755), for
    /// pid files and sockets: bustd refuses world-writable ones like /tmp.
    static let privateDirectory: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-tests-\(getpid())-\(UUID().uuidString.prefix(8))")
            .path
        try? FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o755])
        return path
    }()

    /// A fresh path in privateDirectory.
    static func privatePath(_ suffix: String) -> String {
        privateDirectory + "/\(UUID().uuidString.prefix(12))" + suffix
    }

    /// A python program that names itself, optionally ignores SIGTERM,
    /// optionally leads its own process group and forks children, touches
    /// MB megabytes and sleeps.
    static let hogScript = #"""
        import os, signal, sys, time
        name, mb, ignore_term, children, own_group, adj = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6]
        signal.pthread_sigmask(signal.SIG_SETMASK, [])  # the test runner blocks some
        if own_group:
            os.setpgid(0, 0)
        with open("/proc/self/comm", "w") as f:
            f.write(name)
        if adj != "-":
            try:
                with open("/proc/self/oom_score_adj", "w") as f:
                    f.write(adj)
            except OSError:
                pass  # lowering it needs CAP_SYS_RESOURCE; the test checks
        for i in range(children):
            if os.fork() == 0:
                os.closerange(3, 65536)  # keep no pipe of the test runner's open
                if i == 0:
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                with open("/proc/self/comm", "w") as f:
                    f.write(name + "-c")
                time.sleep(600)
                os._exit(0)
        if ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        block = b"x" * (mb << 20)
        print("ready", flush=True)
        time.sleep(600)
        """#
}

/// A cgroup directory owned by one test; everything left in it is killed
/// and the directory removed at the end. By default a cgroup v2 directory;
/// `memoryLimited` asks for one with a memory controller, so that the test
/// can give it a limit (`limitSoThatAvailableIs`) and bustd's --scope
/// decides on the memory left under it, not on the shared machine's: on
/// unified systems a cgroup v2 directory with memory enabled, on hybrid
/// ones (where the memory controller is on cgroup v1) a v1 memory cgroup.
final class TestCgroup {
    let path: String
    /// The cgroup v1 memory hierarchy (no cgroup.kill, other file names).
    let isV1Memory: Bool

    enum MemoryController { case v1, v2 }

    convenience init(memoryLimited: Bool = false) throws {
        try self.init(memory: memoryLimited ? (Harness.hasV2MemoryController ? .v2 : .v1) : nil)
    }

    /// A cgroup under this memory controller, or a plain cgroup v2 one (nil).
    init(memory: MemoryController?) throws {
        let mount = try #require(Harness.cgroup2Mount, "no cgroup v2 mount")
        let name = "bustd-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        switch memory {
        case .v1:
            try #require(Harness.hasV1MemoryController, "no cgroup v1 memory controller")
            path = "/sys/fs/cgroup/memory/" + name
            isV1Memory = true
        case .v2:
            try #require(Harness.hasV2MemoryController, "no memory controller on cgroup v2")
            try? "+memory".write(toFile: mount + "/cgroup.subtree_control", atomically: false, encoding: .utf8)
            path = mount + "/" + name
            isV1Memory = false
        case nil:
            path = mount + "/" + name
            isV1Memory = false
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    deinit { destroy() }

    var processIDs: [Int32] {
        ((try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8)) ?? "")
            .split(separator: "\n").compactMap { Int32($0) }
    }

    /// Memory charged to the cgroup now, in bytes.
    var usageBytes: Int {
        let file = path + (isV1Memory ? "/memory.usage_in_bytes" : "/memory.current")
        return Int(((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Sets the memory limit so that `percent` of it is left above what the
    /// processes in it use now. Returns the limit in bytes.
    @discardableResult
    func limitSoThatAvailableIs(percent: Double) throws -> Int {
        // The charge settles in per-CPU batches: take the larger of two reads.
        let first = usageBytes
        usleep(200_000)
        let limit = Int(Double(max(first, usageBytes)) / (1 - percent / 100))
        try setMemoryLimit(bytes: limit)
        return limit
    }

    /// withoutSwap: nothing may go to swap either (where swap is accounted),
    /// so a process over the limit is OOM-killed, not swapped out.
    func setMemoryLimit(bytes: Int, withoutSwap: Bool = false) throws {
        try String(bytes).write(toFile: path + (isV1Memory ? "/memory.limit_in_bytes" : "/memory.max"), atomically: false, encoding: .utf8)
        guard withoutSwap else { return }
        try? (isV1Memory ? String(bytes) : "0").write(
            toFile: path + (isV1Memory ? "/memory.memsw.limit_in_bytes" : "/memory.swap.max"),
            atomically: false, encoding: .utf8)
    }

    func destroy() {
        guard FileManager.default.fileExists(atPath: path) else { return }
        if isV1Memory {
            for pid in processIDs { kill(pid, SIGKILL) }
        } else {
            try? "1".write(toFile: path + "/cgroup.kill", atomically: false, encoding: .utf8)
        }
        for _ in 0..<100 where rmdir(path) != 0 { usleep(20_000) }
    }
}

/// A child process started by the test (through sh, so it can enter a
/// cgroup before exec).
final class Child {
    let process = Process()

    init(_ command: String, cgroup: TestCgroup? = nil) throws {
        let enter = cgroup.map { "echo $$ > '\($0.path)/cgroup.procs' && " } ?? ""
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", enter + "exec " + command]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// A hog: see Harness.hogScript.
    static func hog(
        _ name: String, mb: Int, cgroup: TestCgroup?, ignoreTerm: Bool = false, children: Int = 0,
        ownGroup: Bool = true, oomScoreAdj: Int? = nil, asUser uid: UInt32? = nil
    ) throws -> Child {
        let script = Harness.hogScript.replacingOccurrences(of: "'", with: "'\\''")
        let user = uid.map { "/usr/bin/setpriv --reuid=\($0) --regid=\($0) --clear-groups " } ?? ""
        let child = try Child(
            "\(user)\(Harness.python) -c '\(script)' \(name) \(mb) \(ignoreTerm ? 1 : 0) \(children) \(ownGroup ? 1 : 0) \(oomScoreAdj.map(String.init) ?? "-")",
            cgroup: cgroup)
        // Its block is anonymous memory; python itself holds 3 MiB more.
        try child.waitUntilResident(kib: mb * 1024 + 3 * 1024)
        return child
    }

    var pid: Int32 { process.processIdentifier }

    var isRunning: Bool { process.isRunning }

    /// Waits until the child holds at least this much memory.
    /// Waits until the child's anonymous memory (RssAnon: what it filled,
    /// not the file pages of python and its libraries) reaches kib.
    func waitUntilResident(kib: Int, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }),
                let value = Int(line.split(separator: " ")[1]), value >= kib
            {
                return
            }
            usleep(20_000)
        }
        throw HarnessError("pid \(pid) never reached \(kib) KiB resident")
    }

    /// The child's oom_score_adj as the kernel holds it.
    var oomScoreAdj: Int? {
        (try? String(contentsOfFile: "/proc/\(pid)/oom_score_adj", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The pids of this child's children (from /proc/PID/task/*/children).
    var childPIDs: [Int32] {
        ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Waits for the exit; returns the signal that ended it, or nil.
    func waitForSignal(timeout: TimeInterval = 15) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else { return nil }
        return process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
    }

    /// Runs a short python program to the end; returns its exit status.
    static func pythonOneShot(_ program: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.python.hasPrefix("/") ? Harness.python : "/usr/bin/env")
        process.arguments = (Harness.python.hasPrefix("/") ? [] : ["python3"]) + ["-c", program]
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func stop() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A bustd run whose stderr goes to a file the test reads as it grows.
final class DaemonRun {
    let process = Process()
    let logPath: String

    /// journalStream: $JOURNAL_STREAM set to the log file's device and
    /// inode, so that bustd takes its stderr for journald's stream.
    init(
        _ arguments: [String], asUser user: String? = nil, environment: [String: String] = [:], journalStream: Bool = false
    ) throws {
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-log-\(UUID()).txt").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        var environment = environment
        if journalStream {
            var status = stat()
            guard stat(logPath, &status) == 0 else { throw HarnessError("cannot stat \(logPath)") }
            environment["JOURNAL_STREAM"] = "\(status.st_dev):\(status.st_ino)"
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid", user, "--regid", user, "--clear-groups", Harness.binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Harness.binary)
            process.arguments = DaemonRun.ownSocket(arguments)
        }
        process.standardOutput = log
        process.standardError = log
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        try process.run()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// A root daemon given no --socket would take the default
    /// /run/bustd/bustd.sock, which suites running in parallel (and any
    /// bustd on the machine) contend for: give it a socket of its own,
    /// first, so that the arguments after it parse as they would alone.
    static func ownSocket(_ arguments: [String]) -> [String] {
        let named = arguments.contains { $0 == "--socket" || $0.hasPrefix("--socket=") }
        let plain = arguments.first.map { ["status", "--help", "-h", "--version"].contains($0) } ?? false
        guard getuid() == 0, !named, !plain else { return arguments }
        return ["--socket", Harness.privatePath(".sock")] + arguments
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var lines: [String] { log.split(separator: "\n").map(String.init) }

    /// Waits for a log line containing text; returns it or throws with the log.
    @discardableResult
    func waitForLine(containing text: String, timeout: TimeInterval = 15) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let line = lines.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning {
                if let line = lines.first(where: { $0.contains(text) }) { return line }
                break
            }
            usleep(20_000)
        } while Date() < deadline
        throw HarnessError("no log line containing \"\(text)\" within \(timeout) s; log:\n\(log)")
    }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// Waits for the process to exit by itself.
    func waitForExit(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}

/// "... would kill pid 123 ..." / "killing pid 123 ..." → 123
func victimPID(in line: String) -> Int32? {
    guard let range = line.range(of: "kill pid ") ?? line.range(of: "killing pid ") else { return nil }
    return Int32(line[range.upperBound...].prefix { $0.isNumber })
}

extension Trait where Self == ConditionTrait {
    /// Cgroups, kills of other processes and dropping to another user need
    /// root; as anyone else these tests are skipped, not failed.
    static var needsRoot: Self { .enabled(if: Harness.isRoot, "needs root") }
}
