import Foundation
import Testing

@testable import bustd

/// The never-kill rules on fixture /proc trees: protection comes from what
/// a process's user cannot choose (its uid, the executed file's owner and
/// directory, its cgroup), never from its name. The executables are real
/// root-owned system programs of the test machine (dpkg, dbus-daemon,
/// python3), reached through the fixtures' exe links.
@Suite struct ProtectionTests {
    static let user: UInt32 = 1000
    static let python = "/usr/bin/python3.11"
    static let haveSystemPrograms = ["/usr/bin/dpkg", "/usr/bin/dbus-daemon", python].allSatisfy {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    func scan(_ proc: FakeProc, _ configure: (inout VictimPolicy) -> Void = { _ in }) -> ScanResult {
        var policy = VictimPolicy(ownPID: 999_999)
        policy.protection.totalKiB = 8 * 1024 * 1024
        configure(&policy)
        return ProcessScanner(proc: proc.directory(), policy: policy).scan(.all)
    }

    /// A user's hog and another user's small, innocent process.
    func hogAndInnocent(_ proc: FakeProc, hog name: String, exe: String, cgroup: String? = nil) throws {
        try proc.add(pid: 10, name: name, rssPages: 22_000, oomScore: 900, exe: exe, cgroup: cgroup)
        proc.chown(pid: 10, uid: Self.user)
        try proc.add(
            pid: 11, name: "innocent", rssPages: 7000, oomScore: 300, exe: Self.python,
            cgroup: "/user.slice/user-1001.slice/user@1001.service/app.slice/app-editor-1.scope")
        proc.chown(pid: 11, uid: 1001)
    }

    @Test(.enabled(if: haveSystemPrograms)) func aUserCannotBuyProtectionWithAName() throws {
        // prctl(PR_SET_NAME, "sshd"), and the other names of the old list.
        for name in ["sshd", "systemd", "systemd-evil", "gdm-x", "Xorg", "apt", "dpkg", "dbus-daemon", "plasmashell"] {
            let proc = try FakeProc()
            try hogAndInnocent(
                proc, hog: name, exe: Self.python,
                cgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/app-term-2.scope")
            #expect(scan(proc).victim?.pid == 10, "a hog named \(name) was spared")
        }
    }

    @Test(.enabled(if: haveSystemPrograms)) func aCopiedOrUserOwnedProgramIsNotTheSystemsProgram() throws {
        // A copy of dbus-daemon saved as ~/dbus-daemon: the user owns the file.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("home-\(UUID())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let copy = home.appendingPathComponent("dbus-daemon").path
        try FileManager.default.copyItem(atPath: "/usr/bin/dbus-daemon", toPath: copy)
        _ = Foundation.chown(copy, Self.user, Self.user)
        let proc = try FakeProc()
        try hogAndInnocent(
            proc, hog: "dbus-daemon", exe: copy,
            cgroup: "/user.slice/user-1000.slice/user@1000.service/session.slice/dbus.service")
        #expect(scan(proc).victim?.pid == 10)
        // Even a root-owned copy outside the system directories.
        _ = Foundation.chown(copy, 0, 0)
        #expect(scan(proc).victim?.pid == 10)
    }

    @Test(.enabled(if: haveSystemPrograms)) func aSymlinkedSystemProgramRunByAUserIsNotASystemProcess() throws {
        // ~/sshd -> /usr/bin/dpkg: the kernel's exe is the real dpkg, but a
        // system program is protected only when a system account runs it.
        let proc = try FakeProc()
        try hogAndInnocent(proc, hog: "sshd", exe: "/usr/bin/dpkg")
        #expect(scan(proc).victim?.pid == 10)
    }

    /// The rerank at a decision keeps the shortlist's identity checks only
    /// while the owner is the same: a process that is now a system
    /// account's (same pid, same start time) is checked again, and a
    /// system program run by it is spared.
    @Test(.enabled(if: haveSystemPrograms)) func aShortlistedProcessNowRunByASystemAccountIsCheckedAgain() throws {
        let proc = try FakeProc()
        try hogAndInnocent(proc, hog: "dpkg", exe: "/usr/bin/dpkg")
        var policy = VictimPolicy(ownPID: 999_999)
        policy.protection.totalKiB = 8 * 1024 * 1024
        let scanner = ProcessScanner(proc: proc.directory(), policy: policy)
        let shortlist = scanner.scan(.all).ranked
        #expect(shortlist.first?.pid == 10, "a user's dpkg is not protected")
        proc.chown(pid: 10, uid: 0)
        #expect(scanner.rerank(shortlist).victim?.pid == 11, "root's dpkg was chosen on the user's identity checks")
    }

    @Test(.enabled(if: haveSystemPrograms)) func systemProgramsOfSystemAccountsAreProtected() throws {
        let proc = try FakeProc()
        try proc.add(
            pid: 20, name: "dpkg", rssPages: 50_000, oomScore: 950, exe: "/usr/bin/dpkg", cgroup: "/system.slice/apt-daily.service")
        // dnf and unattended-upgrades are Python: root's process name counts.
        try proc.add(
            pid: 21, name: "unattended-upgr", rssPages: 40_000, oomScore: 940, exe: Self.python,
            cgroup: "/system.slice/unattended-upgrades.service")
        try proc.add(pid: 22, name: "worker", rssPages: 1000, oomScore: 100, exe: Self.python)
        #expect(scan(proc).victim?.pid == 22)
        // A system account other than root (uid 105) is a system account too.
        proc.chown(pid: 20, uid: 105)
        #expect(scan(proc).victim?.pid == 22)
    }

    @Test(.enabled(if: haveSystemPrograms)) func aSessionProgramIsProtectedInItsOwnUsersSessionOnly() throws {
        let session = "/user.slice/user-1000.slice/user@1000.service/session.slice/dbus.service"
        func victim(cgroup: String?, rssPages: Int64 = 30_000) throws -> Int32? {
            let proc = try FakeProc()
            try proc.add(pid: 10, name: "dbus-daemon", rssPages: rssPages, oomScore: 900, exe: "/usr/bin/dbus-daemon", cgroup: cgroup)
            proc.chown(pid: 10, uid: Self.user)
            try proc.add(pid: 11, name: "innocent", rssPages: 7000, oomScore: 300, exe: Self.python)
            proc.chown(pid: 11, uid: 1001)
            return scan(proc).victim?.pid
        }
        #expect(try victim(cgroup: session) == 11, "the user's own session bus")
        #expect(try victim(cgroup: "/user.slice/user-1000.slice/session-3.scope") == 11, "in the login session's scope")
        #expect(try victim(cgroup: nil) == 11, "no systemd tree to check")
        #expect(
            try victim(cgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/app-x-1.scope") == 10,
            "started as an app, not as the session")
        #expect(
            try victim(cgroup: "/user.slice/user-1001.slice/user@1001.service/session.slice/dbus.service") == 10,
            "in another user's session")
        // A quarter of memory (8 GiB here) or more: no longer protected.
        let pageKiB = Int64(sysconf(Int32(_SC_PAGESIZE)) / 1024)
        #expect(try victim(cgroup: session, rssPages: 2 * 1024 * 1024 / pageKiB) == 10, "a leaking session program")
    }

    @Test(.enabled(if: haveSystemPrograms)) func protectUnitMatchesSystemUnitsAndPathsButNotAUsersLookAlike() throws {
        let proc = try FakeProc()
        try proc.add(
            pid: 30, name: "postgres", rssPages: 50_000, oomScore: 950, exe: Self.python,
            cgroup: "/system.slice/postgresql@15-main.service")
        // A user's scope named like the system unit, in their own manager.
        try proc.add(
            pid: 31, name: "postgres", rssPages: 40_000, oomScore: 940, exe: Self.python,
            cgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/postgresql@15-main.service")
        proc.chown(pid: 31, uid: Self.user)
        try proc.add(
            pid: 32, name: "batch", rssPages: 30_000, oomScore: 930, exe: Self.python,
            cgroup: "/system.slice/batch.service/worker")
        try proc.add(pid: 33, name: "small", rssPages: 100, oomScore: 10, exe: Self.python)
        let result = scan(proc) { policy in
            policy.protection.units = GlobList.parseOrEmpty("postgresql@*.service|/system.slice/batch.service/*")
        }
        #expect(result.ranked.map(\.pid) == [31, 33])
    }

    @Test func theNeverKillListStillMatchesNamesAndPaths() throws {
        let proc = try FakeProc()
        try proc.add(pid: 40, name: "precious", oomScore: 900)
        try proc.add(pid: 41, name: "other", oomScore: 800, exe: "/opt/precious/bin/run")
        try proc.add(pid: 42, name: "victim", oomScore: 100)
        #expect(scan(proc) { $0.protection.names = GlobList.parseOrEmpty("precious|/opt/precious/*") }.victim?.pid == 42)
    }

    @Test func onTiesAppsAndBackgroundGoBeforeTheSession() throws {
        let base = "/user.slice/user-1000.slice/user@1000.service/"
        let proc = try FakeProc()
        try proc.add(pid: 50, name: "session", rssPages: 900, oomScore: 500, cgroup: base + "session.slice/x.service")
        try proc.add(pid: 51, name: "app", rssPages: 100, oomScore: 500, cgroup: base + "app.slice/app-y-1.scope")
        try proc.add(pid: 52, name: "indexer", rssPages: 50, oomScore: 500, cgroup: base + "background.slice/tracker.service")
        try proc.add(pid: 53, name: "plain", rssPages: 800, oomScore: 500)
        #expect(scan(proc).ranked.map(\.pid) == [52, 51, 53, 50])
    }
}

@Suite struct CgroupMembershipTests {
    func membership(_ text: String) -> CgroupMembership? {
        withBytes(text) { CgroupMembership.parse($0) }
    }

    @Test func readsTheUnifiedLineOrSystemdsNamedHierarchy() {
        #expect(membership("0::/system.slice/ssh.service\n")?.path == Array("/system.slice/ssh.service".utf8))
        #expect(
            membership("12:memory:/x\n1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n")?.path
                == Array("/user.slice/user-1000.slice/session-2.scope".utf8))
        #expect(membership("12:memory:/x\n") == nil)
        #expect(membership("garbage\n0:x:/y\n") == nil)
    }

    @Test func unitsSlicesAndPlaces() throws {
        let app = try #require(membership("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-1234.scope\n"))
        #expect(app.unit == Array("app-gnome-firefox-1234.scope".utf8) && app.slice == Array("app.slice".utf8))
        #expect(app.place == .app && app.userSliceUID == 1000 && !app.isSessionScope)
        let bus = try #require(membership("0::/user.slice/user-1000.slice/user@1000.service/session.slice/dbus-broker.service\n"))
        #expect(bus.place == .session)
        let manager = try #require(membership("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n"))
        #expect(manager.place == .session && manager.unit == Array("init.scope".utf8))
        let login = try #require(membership("0::/user.slice/user-1000.slice/session-3.scope\n"))
        #expect(login.place == .session && login.isSessionScope)
        let ssh = try #require(membership("0::/system.slice/ssh.service\n"))
        #expect(ssh.place == .system && ssh.unit == Array("ssh.service".utf8))
        #expect(membership("0::/init.scope\n")?.place == .system)
        #expect(membership("0::/\n")?.place == .other)
        #expect(membership("0::/user.slice/user-x.slice/foo.scope\n")?.place == .other)
        #expect(
            membership("0::/user.slice/user-1000.slice/user@1000.service/background.slice/tracker-miner-fs-3.service\n")?.place
                == .background)
        #expect(membership("0::/machine.slice/machine-vm.scope\n")?.place == .other)
    }
}

@Suite struct OtherKillersTests {
    @Test func earlyoomOomdAndNohangAreNamed() throws {
        let proc = try FakeProc()
        try proc.add(pid: 10, name: "earlyoom", exe: "/usr/bin/earlyoom", cmdline: "/usr/bin/earlyoom\u{0}-r\u{0}3600\u{0}")
        try proc.add(
            pid: 11, name: "systemd-oomd", exe: "/usr/lib/systemd/systemd-oomd (deleted)", cmdline: "/lib/systemd/systemd-oomd\u{0}")
        try proc.add(
            pid: 12, name: "python3", exe: "/usr/bin/python3.11", cmdline: "/usr/bin/python3\u{0}/usr/sbin/nohang\u{0}--monitor\u{0}")
        // A name alone makes no killer.
        try proc.add(pid: 13, name: "earlyoom", exe: "/home/u/earlyoom", cmdline: "./earlyoom\u{0}")
        #expect(OtherKillers.running(proc: proc.directory()).sorted() == ["earlyoom (pid 10)", "nohang (pid 12)", "systemd-oomd (pid 11)"])
    }
}
