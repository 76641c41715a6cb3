import Foundation
import Shared
import Testing

@testable import bustd

/// A root-owned 0755 directory under /run for hook files (a hook must be
/// root's alone: /tmp, writable by all, is refused).
final class HookDirectory {
    let path: String

    init() throws {
        path = "/run/bustd-hooks-\(getpid())-\(UUID().uuidString.prefix(8))"
        try #require(mkdir(path, 0o755) == 0, "mkdir \(path): errno \(errno)")
        try #require(chmod(path, 0o755) == 0)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A script at path/name with this mode, owned by uid.
    @discardableResult
    func script(_ name: String, _ body: String, mode: mode_t = 0o755, uid: uid_t = 0) throws -> String {
        let file = path + "/" + name
        try ("#!/bin/sh\n" + body + "\n").write(toFile: file, atomically: false, encoding: .utf8)
        try #require(chown(file, uid, 0) == 0 && chmod(file, mode) == 0)
        return file
    }
}

@Suite struct HookCommandTests {
    @Test func splitsAtSpacesIntoArgvWithoutAShell() throws {
        let command = try HookCommand.parse("/usr/bin/logger  -t bustd 'a b' $HOME;x", option: "--post-kill")
        #expect(command.arguments == ["/usr/bin/logger", "-t", "bustd", "'a", "b'", "$HOME;x"])
        #expect(command.path == "/usr/bin/logger")
    }

    @Test func refusesRelativeEmptyAndDottedPaths() {
        for bad in ["logger -t x", "", "   ", "./hook", "/usr/../tmp/hook", "/usr/./bin/x"] {
            #expect(throws: OptionError.self, "\(bad)") { try HookCommand.parse(bad, option: "--pre-kill") }
        }
        #expect(throws: OptionError.self) {
            try HookCommand.parse("/usr/bin/x" + String(repeating: " a", count: 70), option: "--pre-kill")
        }
    }

    @Test func optionsParseBothHooks() throws {
        guard case .run(let options) = try parseCommandLine(["--pre-kill", "/usr/bin/true x", "--post-kill=/usr/bin/false"])
        else {
            Issue.record("not a run")
            return
        }
        #expect(options.preKill?.arguments == ["/usr/bin/true", "x"])
        #expect(options.postKill?.arguments == ["/usr/bin/false"])
    }

    @Test(.needsRoot) func acceptsARootOwnedFileInARootOwnedDirectory() throws {
        let directory = try HookDirectory()
        let file = try directory.script("ok", "exit 0")
        #expect(HookCommand.refusal(path: file) == nil)
        #expect(HookCommand.refusal(path: "/usr/bin/true") == nil)
    }

    @Test(.needsRoot) func refusesFilesAUserCouldChange() throws {
        let directory = try HookDirectory()
        let userOwned = try directory.script("user", "exit 0", uid: 65534)
        #expect(HookCommand.refusal(path: userOwned)?.contains("not owned by root") == true)
        let groupWritable = try directory.script("group", "exit 0", mode: 0o775)
        #expect(HookCommand.refusal(path: groupWritable)?.contains("writable by its group or others") == true)
        let othersWritable = try directory.script("others", "exit 0", mode: 0o757)
        #expect(HookCommand.refusal(path: othersWritable)?.contains("writable by its group or others") == true)
        let notExecutable = try directory.script("plain", "exit 0", mode: 0o644)
        #expect(HookCommand.refusal(path: notExecutable)?.contains("not executable") == true)
        let target = try directory.script("target", "exit 0")
        let link = directory.path + "/link"
        try #require(symlink(target, link) == 0)
        #expect(HookCommand.refusal(path: link)?.contains("symbolic link") == true)
        #expect(HookCommand.refusal(path: directory.path + "/missing")?.contains("cannot use") == true)
        #expect(HookCommand.refusal(path: directory.path)?.contains("not a regular file") == true)
    }

    @Test(.needsRoot) func refusesADirectoryAUserCouldChange() throws {
        let directory = try HookDirectory()
        let file = try directory.script("ok", "exit 0")
        chmod(directory.path, 0o775)
        #expect(HookCommand.refusal(path: file)?.contains("writable by its group or others") == true)
        chmod(directory.path, 0o1777)  // sticky is not enough for the hook's own directory
        #expect(HookCommand.refusal(path: file)?.contains("writable by its group or others") == true)
        chmod(directory.path, 0o755)
        chown(directory.path, 65534, 0)
        #expect(HookCommand.refusal(path: file)?.contains("not owned by root") == true)
        chown(directory.path, 0, 0)
        // A directory above given through a symbolic link.
        let linkedDirectory = directory.path + "-link"
        try #require(symlink(directory.path, linkedDirectory) == 0)
        defer { unlink(linkedDirectory) }
        #expect(HookCommand.refusal(path: linkedDirectory + "/ok")?.contains("not a directory") == true)
    }

    @Test(.needsRoot) func acceptsARootDirectoryUnderAStickyOne() throws {
        // /var/tmp is 1777: a root-owned 0755 directory in it is still root's alone.
        let path = "/var/tmp/bustd-hooks-\(getpid())-\(UUID().uuidString.prefix(8))"
        try #require(mkdir(path, 0o755) == 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, 0o755)
        let file = path + "/ok"
        try "#!/bin/sh\n".write(toFile: file, atomically: false, encoding: .utf8)
        chmod(file, 0o755)
        #expect(HookCommand.refusal(path: file) == nil)
        // /tmp itself as the hook's directory is not.
        #expect(HookCommand.refusal(path: "/tmp/x-\(getpid())") != nil)
    }
}

@Suite struct HookEnvironmentTests {
    func kill(unit: String?, dryRun: Bool, user: String? = "alice") -> Event.Kill {
        Event.Kill(
            pid: 4242, uid: 1000, userName: user, processName: Array("fire\u{0}fox".utf8),
            commandLine: Array("/usr/bin/firefox --new-window x=$(rm -rf /)".utf8),
            executablePath: Array("/usr/lib/firefox/firefox".utf8),
            rssKiB: 3_145_728, swapKiB: 12, oomScore: 812, oomScoreAdj: 0, signal: "SIGTERM", rule: .pressure,
            figures: Event.Figures(availablePercent: 412, swapFreePercent: 10_000),
            thresholds: Event.Thresholds(
                memoryTerminatePercent: 1000, memoryKillPercent: 500, swapTerminatePercent: 1000, swapKillPercent: 500,
                pressureCutoffPercent: 2500),
            dryRun: dryRun, cgroup: unit.map { Array("/user.slice/\($0)".utf8) }, unit: unit.map { Array($0.utf8) })
    }

    func dictionary(_ variables: [[UInt8]]) -> [String: String] {
        var out: [String: String] = [:]
        for entry in variables {
            let text = String(decoding: entry, as: UTF8.self)
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            #expect(out[String(parts[0])] == nil, "\(parts[0]) twice")
            out[String(parts[0])] = String(parts[1])
        }
        return out
    }

    @Test func carriesTheVictim() {
        let variables = HookEnvironment.variables(kill(unit: "app-firefox-1.scope", dryRun: false))
        #expect(variables.allSatisfy { !$0.contains(0) })
        let env = dictionary(variables)
        #expect(env["BUSTD_PID"] == "4242")
        #expect(env["BUSTD_UID"] == "1000")
        #expect(env["BUSTD_USER"] == "alice")
        #expect(env["BUSTD_NAME"] == "fire fox")
        #expect(env["BUSTD_EXE"] == "/usr/lib/firefox/firefox")
        #expect(env["BUSTD_CMDLINE"] == "/usr/bin/firefox --new-window x=$(rm -rf /)")
        #expect(env["BUSTD_RULE"] == "pressure")
        #expect(env["BUSTD_SIGNAL"] == "SIGTERM")
        #expect(env["BUSTD_RSS_KIB"] == "3145728")
        #expect(env["BUSTD_AVAILABLE_PERCENT"] == "4.12")
        #expect(env["BUSTD_UNIT"] == "app-firefox-1.scope")
        #expect(env["BUSTD_DRY_RUN"] == nil)
        #expect(env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(env.count == 12, "nothing of bustd's own environment: \(env.keys.sorted())")
    }

    @Test func unitOnlyWhenKnownAndDryRunWhenDry() {
        let env = dictionary(HookEnvironment.variables(kill(unit: nil, dryRun: true, user: nil)))
        #expect(env["BUSTD_UNIT"] == nil)
        #expect(env["BUSTD_DRY_RUN"] == "1")
        #expect(env["BUSTD_USER"] == "1000", "the uid when there is no name")
    }
}

@Suite struct HookOutputTests {
    func collect(_ text: String) -> HookOutput {
        var output = HookOutput()
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { output.append($0) }
        return output
    }

    @Test func logsLinesEscaped() {
        #expect(collect("one\ntwo \u{1b}[31m\n").lines() == ["\"one\"", "\"two \\u001b[31m\""])
        #expect(collect("").lines().isEmpty)
    }

    @Test func boundsLinesAndBytes() {
        let many = collect((1...30).map { "line \($0)" }.joined(separator: "\n"))
        #expect(many.lines().count == HookOutput.lineLimit + 1)
        #expect(many.lines().last == "(20 more lines not logged)")
        let huge = collect(String(repeating: "x", count: 100_000))
        #expect(huge.kept.count == HookOutput.byteLimit)
        #expect(huge.droppedBytes == 100_000 - HookOutput.byteLimit)
        #expect(huge.lines().last == "(\(100_000 - HookOutput.byteLimit) more bytes not logged)")
    }
}
