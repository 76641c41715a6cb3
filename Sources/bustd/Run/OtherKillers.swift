import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// Other userspace OOM killers found running at start. Two killers race
/// for one emergency: each may take a victim for the same shortage, and
/// their thresholds and choices differ. bustd says so once, naming them;
/// the administrator keeps one (README: "Choosing one killer").
enum OtherKillers {
    /// Program files of the daemons, and nohang's script (it runs under
    /// python3, so its path shows in the command line, not as the exe).
    static let programs: [(name: String, executable: [String], script: [String])] = [
        ("earlyoom", ["/usr/bin/earlyoom", "/usr/local/bin/earlyoom"], []),
        ("systemd-oomd", ["/usr/lib/systemd/systemd-oomd", "/lib/systemd/systemd-oomd"], []),
        (
            "nohang", ["/usr/sbin/nohang", "/usr/bin/nohang", "/usr/local/sbin/nohang"],
            ["/usr/sbin/nohang", "/usr/bin/nohang", "/usr/local/sbin/nohang"]
        ),
    ]

    /// "earlyoom (pid 812)" for each one running.
    static func running(proc: ProcDirectory) -> [String] {
        guard let dir = bustd_directory_open(proc.fd, ".") else { return [] }
        defer { bustd_directory_close(dir) }
        var found: [String] = []
        while true {
            let pid = bustd_next_pid(dir)
            if pid < 0 { break }
            guard pid != getpid() else { continue }
            let exe = proc.readLink(pid: pid, "exe").map { String(decoding: stripDeleted($0), as: UTF8.self) }
            var arguments: [String] = []
            if let cmdline = proc.readBytes(pid: pid, "cmdline", limit: 512) {
                arguments = cmdline.split(separator: 0).prefix(3).map { String(decoding: $0, as: UTF8.self) }
            }
            for program in programs {
                let byExecutable = exe.map { program.executable.contains($0) } ?? false
                let byScript = !program.script.isEmpty && arguments.dropFirst().contains { program.script.contains($0) }
                if (byExecutable || byScript) && !found.contains(where: { $0.hasPrefix(program.name + " ") }) {
                    found.append("\(program.name) (pid \(pid))")
                }
            }
        }
        return found
    }
}
