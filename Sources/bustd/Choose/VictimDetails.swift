/// What bustd reads about the chosen process only, once, for the log line
/// and the kill event.
struct VictimDetails {
    /// /proc/PID/exe without a " (deleted)" suffix; nil for kernel threads
    /// or when unreadable.
    var executable: [UInt8]?
    /// Arguments joined by spaces, cut at the limit.
    var commandLine: [UInt8]
    var commandLineTruncated: Bool
    /// VmSwap in KiB (0 when unknown).
    var swapKiB: Int64

    static func read(_ pid: Int32, proc: ProcDirectory, commandLineLimit: Int) -> VictimDetails {
        var cmdline = proc.readBytes(pid: pid, "cmdline", limit: commandLineLimit) ?? []
        let truncated = cmdline.count >= commandLineLimit
        while cmdline.last == 0 { cmdline.removeLast() }
        var swap: Int64 = 0
        if let status = proc.readBytes(pid: pid, "status") {
            for line in status.split(separator: 0x0A) where line.starts(with: "VmSwap:".utf8) {
                swap = Int64(parseLeadingInteger(line.dropFirst(7)) ?? 0)
            }
        }
        return VictimDetails(
            executable: proc.readLink(pid: pid, "exe").map(stripDeleted),
            commandLine: cmdline.map { $0 == 0 ? UInt8(ascii: " ") : $0 },
            commandLineTruncated: truncated, swapKiB: swap)
    }
}
