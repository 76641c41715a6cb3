import Foundation

@testable import bustd

/// A throwaway directory laid out like /proc, for the scanner and parsers.
final class FakeProc {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    var path: String { root.path }

    /// Adds a process. `name` is raw comm bytes; any field may be left out
    /// (nil) to model an entry that vanished between two reads.
    func add(
        pid: Int32, name: String = "proc", state: String = "S", ppid: Int32 = 1000, pgrp: Int32? = nil,
        flags: UInt64 = 0x400100, startTime: UInt64 = 5000, rssPages: Int64 = 100,
        oomScore: Int? = 100, oomScoreAdj: Int? = 0, exe: String? = nil, cmdline: String? = nil,
        cgroup: String? = nil, writeStat: Bool = true
    ) throws {
        let dir = root.appendingPathComponent(String(pid))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if writeStat {
            let stat =
                "\(pid) (\(name)) \(state) \(ppid) \(pgrp ?? pid) \(pgrp ?? pid) 0 -1 \(flags) 120 0 0 0 5 3 0 0 20 0 1 0 \(startTime) 123456789 \(rssPages) 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
            try stat.write(to: dir.appendingPathComponent("stat"), atomically: false, encoding: .utf8)
        }
        if let oomScore { try "\(oomScore)\n".write(to: dir.appendingPathComponent("oom_score"), atomically: false, encoding: .utf8) }
        if let oomScoreAdj {
            try "\(oomScoreAdj)\n".write(to: dir.appendingPathComponent("oom_score_adj"), atomically: false, encoding: .utf8)
        }
        if let exe { try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("exe").path, withDestinationPath: exe) }
        if let cmdline { try cmdline.write(to: dir.appendingPathComponent("cmdline"), atomically: false, encoding: .utf8) }
        if let cgroup {
            // As a hybrid system shows it: v1 hierarchies, then the unified one.
            let text = "12:memory:/\n1:name=systemd:\(cgroup)\n0::\(cgroup)\n"
            try text.write(to: dir.appendingPathComponent("cgroup"), atomically: false, encoding: .utf8)
        }
    }

    func remove(pid: Int32, file: String) throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent(String(pid)).appendingPathComponent(file))
    }

    func chown(pid: Int32, uid: UInt32) {
        _ = Foundation.chown(root.appendingPathComponent(String(pid)).path, uid, uid)
    }

    func directory() -> ProcDirectory { ProcDirectory(path: path)! }
}

func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    Array(text.utf8).withUnsafeBufferPointer(body)
}

func options(_ arguments: String...) throws -> Options {
    guard case .run(let options) = try parseCommandLine(arguments) else { throw OptionError("not a run command") }
    return options
}
