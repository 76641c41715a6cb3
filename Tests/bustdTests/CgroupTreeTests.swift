import Foundation
import Testing

@testable import bustd

/// systemd's preferences and session scopes, on a fixture systemd tree
/// built with real cgroup directories the test owns (under the cgroup v2
/// mount, so the attributes are cgroupfs's own), and fixture /proc entries
/// that place processes in it.
@Suite(.serialized) struct CgroupTreeTests {
    static let manager = "/user.slice/user-1000.slice/user@1000.service"

    /// The tree: an app scope, the session bus, background work, a login
    /// session, and ssh in system.slice; owners as systemd makes them.
    func tree() throws -> (TestCgroup, CgroupTree) {
        let cgroup = try TestCgroup()
        for path in [
            Self.manager + "/app.slice/app-gnome-firefox-1234.scope", Self.manager + "/app.slice/app-gnome-big-1.scope",
            Self.manager + "/session.slice/dbus.service", Self.manager + "/background.slice/tracker.service",
            "/user.slice/user-1000.slice/session-3.scope", "/system.slice/ssh.service", "/system.slice/batch.service",
        ] {
            try FileManager.default.createDirectory(atPath: cgroup.path + path, withIntermediateDirectories: true)
        }
        // The user's manager owns its subtree (systemd delegates it).
        _ = chown(cgroup.path + Self.manager, 1000, 1000)
        for sub in [
            "/app.slice", "/app.slice/app-gnome-firefox-1234.scope", "/app.slice/app-gnome-big-1.scope",
            "/session.slice", "/session.slice/dbus.service", "/background.slice", "/background.slice/tracker.service",
        ] {
            _ = chown(cgroup.path + Self.manager + sub, 1000, 1000)
        }
        return (cgroup, CgroupTree(mount: cgroup.path))
    }

    func scan(_ proc: FakeProc, _ tree: CgroupTree) -> ScanResult {
        var policy = VictimPolicy(ownPID: 999_999)
        policy.cgroupTree = tree
        return ProcessScanner(proc: proc.directory(), policy: policy).scan(.all)
    }

    func set(_ attribute: String, on path: String) throws {
        let status = Child.pythonOneShot("import os; os.setxattr('\(path)', '\(attribute)', b'1')")
        try #require(status == 0, "setxattr \(attribute) on \(path)")
    }

    @Test(.needsRoot) func rootOwnedUnitsMayBeOmittedOrAvoided() throws {
        let (cgroup, tree) = try tree()
        let proc = try FakeProc()
        try proc.add(pid: 10, name: "batch", rssPages: 90_000, oomScore: 900, cgroup: "/system.slice/batch.service")
        try proc.add(pid: 11, name: "sshd-helper", rssPages: 80_000, oomScore: 800, cgroup: "/system.slice/ssh.service")
        try proc.add(pid: 12, name: "small", rssPages: 100, oomScore: 100)
        try set("user.oomd_omit", on: cgroup.path + "/system.slice/ssh.service")
        try set("user.oomd_avoid", on: cgroup.path + "/system.slice/batch.service")
        // omitted: never; avoided: only after everything else.
        #expect(scan(proc, tree).ranked.map(\.pid) == [12, 10])
    }

    @Test(.needsRoot) func aUsersOwnPreferenceReordersOnlyThatUsersProcesses() throws {
        let (cgroup, tree) = try tree()
        let proc = try FakeProc()
        try proc.add(pid: 20, name: "big", rssPages: 90_000, oomScore: 900, cgroup: Self.manager + "/app.slice/app-gnome-big-1.scope")
        proc.chown(pid: 20, uid: 1000)
        try proc.add(
            pid: 21, name: "firefox", rssPages: 30_000, oomScore: 700, cgroup: Self.manager + "/app.slice/app-gnome-firefox-1234.scope")
        proc.chown(pid: 21, uid: 1000)
        try proc.add(pid: 22, name: "other-user", rssPages: 50_000, oomScore: 800)
        proc.chown(pid: 22, uid: 1001)
        // The user's manager marks its own unit: ManagedOOMPreference=omit.
        try set("user.oomd_omit", on: cgroup.path + Self.manager + "/app.slice/app-gnome-big-1.scope")
        let ranked: [Int32] = scan(proc, tree).ranked.map(\.pid)
        // Their other app goes instead; another user's process is not
        // pushed ahead by it, and "omit" from the user buys no immunity.
        #expect(ranked.count == 3 && ranked[0] == 21, "\(ranked)")
        #expect(ranked.contains(20))
        // A user cannot mark a unit of another user's: ignored.
        _ = chown(cgroup.path + Self.manager + "/app.slice/app-gnome-big-1.scope", 1001, 1001)
        #expect(scan(proc, tree).victim?.pid == 20)
    }

    @Test(.needsRoot) func theLastProcessOfALoginSessionGoesLast() throws {
        let (_, tree) = try tree()
        let proc = try FakeProc()
        try proc.add(
            pid: 30, name: "session-leader", rssPages: 90_000, oomScore: 900, cgroup: "/user.slice/user-1000.slice/session-3.scope")
        proc.chown(pid: 30, uid: 1000)
        try proc.add(pid: 31, name: "app", rssPages: 100, oomScore: 100, cgroup: Self.manager + "/app.slice/app-gnome-firefox-1234.scope")
        proc.chown(pid: 31, uid: 1000)
        // cgroup.procs of the (real) scope is empty: pid 30 would be its last.
        #expect(scan(proc, tree).ranked.map(\.pid) == [31, 30])
        // Alone, it is still chosen.
        try FileManager.default.removeItem(atPath: proc.path + "/31")
        #expect(scan(proc, tree).victim?.pid == 30)
    }

    @Test func memoryOOMGroupAndUnitDirectories() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgtree-\(UUID())").path
        let unit = root + "/system.slice/x.service"
        try FileManager.default.createDirectory(atPath: unit + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let tree = CgroupTree(mount: root)
        let membership = try #require(withBytes("0::/system.slice/x.service/sub\n") { CgroupMembership.parse($0) })
        #expect(tree.unitDirectory(of: membership) == unit)
        // The deepest unit, not the user's manager above it.
        let app = try #require(
            withBytes("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-x-1.scope\n") { CgroupMembership.parse($0) })
        #expect(tree.unitDirectory(of: app) == root + "/user.slice/user-1000.slice/user@1000.service/app.slice/app-x-1.scope")
        #expect(!tree.isOOMGroup(membership))
        try "1\n".write(toFile: unit + "/sub/memory.oom.group", atomically: false, encoding: .utf8)
        #expect(tree.isOOMGroup(membership))
    }
}
