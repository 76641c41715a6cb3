import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// `--scope DIR`: a cgroup v2 directory whose processes (its own and its
/// descendants') are the only candidates. Where the directory has a memory
/// controller and a limit, the memory left under the limit replaces the
/// machine's figures (memoryStatus), and its memory.pressure the machine's.
final class CgroupScope {
    let path: String

    static func open(_ path: String) -> Result<CgroupScope, OptionError> {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return .failure(OptionError("--scope \(quotedArgument(path)): \(errorText(bustd_errno()))"))
        }
        guard info.st_mode & 0o170000 == 0o040000 else {  // S_IFMT, S_IFDIR
            return .failure(OptionError("--scope \(quotedArgument(path)): not a directory"))
        }
        guard access(path + "/cgroup.procs", R_OK) == 0 else {
            return .failure(OptionError("--scope \(quotedArgument(path)): not a cgroup v2 directory (no readable cgroup.procs)"))
        }
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        return .success(CgroupScope(path: trimmed))
    }

    private init(path: String) { self.path = path }

    /// memory.pressure of the scope, if the memory controller is enabled.
    var pressurePath: String? {
        access(path + "/memory.pressure", R_OK) == 0 ? path + "/memory.pressure" : nil
    }

    /// Every pid in the scope and in its child cgroups.
    func processIDs() -> [Int32] {
        var pids: [Int32] = []
        collect(path, into: &pids, depth: 0)
        return pids
    }

    private func collect(_ directory: String, into pids: inout [Int32], depth: Int) {
        if let bytes = readEntireFile(directory + "/cgroup.procs") {
            for line in bytes.split(separator: 0x0A) {
                if let pid = parseLeadingInteger(line), pid > 0, pid <= Int(Int32.max) { pids.append(Int32(pid)) }
            }
        }
        // cgroup trees are shallow; the bound only stops a pathological one.
        guard depth < 32, let dir = bustd_directory_open(AT_FDCWD, directory) else { return }
        defer { bustd_directory_close(dir) }
        var children: [String] = []
        while let name = bustd_next_subdir(dir) { children.append(String(cString: name)) }
        for child in children { collect(directory + "/" + child, into: &pids, depth: depth + 1) }
    }

    /// The scope's memory, when it has a limit: total = the limit,
    /// available = what is left under it, but never more than the machine
    /// has available (a limit above what is free does not make memory).
    /// cgroup v2 (memory.max, memory.current) or, on hybrid systems where
    /// the memory controller is still on cgroup v1, v1's
    /// memory.limit_in_bytes and memory.usage_in_bytes. Swap figures are
    /// the machine's. nil when there is no memory controller or no limit
    /// (v2's "max", v1's huge default, or a limit above the machine's RAM).
    func memoryStatus(machine: MemoryStatus) -> MemoryStatus? {
        guard let (limit, current) = readLimit(), limit > 0 else { return nil }
        let totalKiB = Int64(limit / 1024)
        guard totalKiB < machine.totalKiB else { return nil }
        return MemoryStatus(
            totalKiB: totalKiB, availableKiB: min(totalKiB - Int64(current / 1024), machine.availableKiB),
            swapTotalKiB: machine.swapTotalKiB, swapFreeKiB: machine.swapFreeKiB)
    }

    private func readLimit() -> (limit: Int, current: Int)? {
        for (limitFile, currentFile) in [("memory.max", "memory.current"), ("memory.limit_in_bytes", "memory.usage_in_bytes")] {
            guard let limitBytes = readEntireFile(path + "/" + limitFile) else { continue }
            guard let limit = parseLeadingInteger(limitBytes),
                let currentBytes = readEntireFile(path + "/" + currentFile),
                let current = parseLeadingInteger(currentBytes)
            else { return nil }
            return (limit, current)
        }
        return nil
    }
}
