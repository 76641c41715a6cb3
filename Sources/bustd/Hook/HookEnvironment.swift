import Shared

/// The environment a hook runs with: the victim as the kill event has it,
/// and nothing of bustd's own environment but a fixed PATH.
enum HookEnvironment {
    static let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// "NAME=value" entries. Values are the victim's bytes as they are
    /// (names and command lines are the user's choice: a hook must treat
    /// them as hostile), except NUL, which an environment cannot hold.
    static func variables(_ kill: Event.Kill) -> [[UInt8]] {
        var out: [[UInt8]] = [Array(path.utf8)]
        func add(_ name: String, _ value: [UInt8]) {
            out.append(Array("BUSTD_\(name)=".utf8) + value.map { $0 == 0 ? UInt8(ascii: " ") : $0 })
        }
        func add(_ name: String, _ value: String) { add(name, Array(value.utf8)) }
        add("PID", "\(kill.pid)")
        add("UID", "\(kill.uid)")
        add("USER", kill.userName ?? "\(kill.uid)")
        add("NAME", kill.processName)
        add("EXE", kill.executablePath ?? [])
        add("CMDLINE", kill.commandLine)
        add("RULE", kill.rule.rawValue)
        add("SIGNAL", kill.signal)
        add("RSS_KIB", "\(kill.rssKiB)")
        add("AVAILABLE_PERCENT", formatHundredths(kill.figures.availablePercent))
        if let unit = kill.unit { add("UNIT", unit) }
        if kill.dryRun { add("DRY_RUN", "1") }
        return out
    }
}
