import Shared

/// Which processes bustd never chooses, decided from facts a process's
/// user cannot choose.
///
/// A process's name, its arguments and its executable's file name are
/// chosen by its user: they may rank a process, never protect it. So the
/// built-in list protects a program only when the process is what it
/// claims:
///
/// - system programs (sshd, systemd and its daemons, dbus, display managers,
///   package managers...) when the process runs as a system account (uid
///   below 1000: only root and system services start those) from a
///   root-owned program in a system directory. For such a process the name
///   may match too (dnf and unattended-upgrades are Python scripts);
/// - the parts of a user's desktop session (the shell, the compositor, the
///   X server, the session bus, the user's systemd) when the program file
///   is that system program (its file's name, never the process name), the
///   process runs in its own user's session (the login session's scope, or
///   the session.slice or init.scope of the user's manager; anywhere when
///   the machine has no systemd cgroups), and it holds less than a quarter
///   of memory: a desktop shell that leaks must not take the machine.
///
/// The administrator adds to it with -u (names and executable paths, which
/// is to trust whatever a user names so) and --protect-unit (systemd units
/// of the system, and cgroup paths).
struct ProtectionPolicy {
    /// -u: globs on the process name and on the executable's path.
    var names = GlobList()
    /// --protect-unit: globs on system units' names, or on cgroup paths
    /// when the glob starts with "/".
    var units = GlobList()
    /// Total memory, for the session programs' cap.
    var totalKiB: Int64 = 0

    static let systemProgramList =
        "init|systemd|systemd-*|sshd|sshd-*|dbus-daemon|dbus-broker|dbus-broker-lau*|Xorg|gdm*|sddm*|lightdm|dpkg|apt|apt-get|aptitude|unattended-upgr*|rpm|dnf|yum|pacman|packagekitd"
    static let sessionProgramList =
        "systemd|gnome-shell|gnome-session-b*|kwin_wayland|kwin_x11|plasmashell|ksmserver|Xwayland|Xorg|dbus-daemon|dbus-broker|dbus-broker-lau*"
    static let systemPrograms = GlobList.parseOrEmpty(systemProgramList)
    static let sessionPrograms = GlobList.parseOrEmpty(sessionProgramList)
    /// Below this uid an account is a system account (Debian's SYS_UID_MAX
    /// is 999): no user can start a process as one.
    static let firstUserUID: UInt32 = 1000
    /// A session program holding more than this share of memory is no
    /// longer protected.
    static let sessionShareLimit: Int64 = 4

    /// The reason pid may not be chosen, or nil. `executable` and
    /// `cgroup` are read by the caller (nil when unreadable).
    func reason(uid: UInt32, name: [UInt8], executable: Executable?, cgroup: CgroupMembership?, heldKiB: Int64) -> String? {
        if let cgroup, !units.isEmpty {
            if cgroup.place == .system, let unit = cgroup.unit, units.matches(unit) {
                return "its unit \(quoted(unit)) is on --protect-unit"
            }
            if units.matchesPath(cgroup.path) { return "its cgroup \(quoted(cgroup.path)) is on --protect-unit" }
        }
        if !names.isEmpty {
            if names.matches(name) { return "its name \(quoted(name)) is on the never-kill list (-u)" }
            if let executable, names.matches(executable.path) {
                return "its executable \(quoted(executable.path)) is on the never-kill list (-u)"
            }
        }
        guard let executable, executable.isSystemProgram else { return nil }
        let program = Array(executable.name)
        if uid < ProtectionPolicy.firstUserUID {
            if ProtectionPolicy.systemPrograms.matches(program) || ProtectionPolicy.systemPrograms.matches(name) {
                return "system program \(quoted(executable.path)) running as system account \(uid)"
            }
            return nil
        }
        guard ProtectionPolicy.sessionPrograms.matches(program) else { return nil }
        if let cgroup, cgroup.components.first?.elementsEqual("user.slice".utf8) == true {
            guard cgroup.userSliceUID == uid, cgroup.place == .session else { return nil }
        }
        guard totalKiB <= 0 || heldKiB < totalKiB / ProtectionPolicy.sessionShareLimit else { return nil }
        return "session program \(quoted(executable.path)) in uid \(uid)'s own session"
    }
}

extension GlobList {
    /// A list known to parse (built-in lists).
    static func parseOrEmpty(_ text: String) -> GlobList {
        guard case .success(let list) = GlobList.parse(text) else { return GlobList() }
        return list
    }

    /// Globs starting with "/" against a cgroup path.
    func matchesPath(_ path: [UInt8]) -> Bool {
        pathGlobs.contains { $0.matches(path) }
    }
}
