import CBustd
#if !hasFeature(Embedded)
import Glibc
#endif

/// `--scope DIR`: a cgroup v2 directory whose processes (its own and its
/// descendants') are the only candidates. Where the directory has a memory
/// controller, its memory.current/memory.max and memory.pressure replace the
/// machine's figures.
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
        guard depth < 32, let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        var children: [String] = []
        while let name = bustd_next_subdir(dir) { children.append(String(cString: name)) }
        for child in children { collect(directory + "/" + child, into: &pids, depth: depth + 1) }
    }

    /// The scope's memory, when it has a limit: available = max - current.
    /// Swap figures are the machine's. nil when there is no memory
    /// controller or no limit (memory.max reads "max").
    func memoryStatus(machine: MemoryStatus) -> MemoryStatus? {
        guard let maxBytes = readEntireFile(path + "/memory.max"),
              let limit = parseLeadingInteger(maxBytes),
              let currentBytes = readEntireFile(path + "/memory.current"),
              let current = parseLeadingInteger(currentBytes), limit > 0 else { return nil }
        let totalKiB = Int64(limit / 1024)
        return MemoryStatus(totalKiB: totalKiB, availableKiB: totalKiB - Int64(current / 1024),
                            swapTotalKiB: machine.swapTotalKiB, swapFreeKiB: machine.swapFreeKiB)
    }
}
