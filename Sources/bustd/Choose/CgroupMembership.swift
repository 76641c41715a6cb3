/// Where a process sits in the cgroup tree, and what systemd makes of that
/// place: the unit it belongs to and the slice above it.
///
/// The cgroup is one of the few facts a process cannot choose for itself:
/// an unprivileged process can move only within a subtree delegated to its
/// user (its user manager, user@UID.service), never into system.slice or
/// another user's tree. The names inside a delegated subtree (an app's
/// scope, `app-firefox-1234.scope`) are chosen by that user, so they may
/// rank a process but never protect it.
struct CgroupMembership: Equatable {
    /// The unified (v2) path, "/user.slice/user-1000.slice/...".
    var path: [UInt8]

    /// Where in systemd's tree, as far as bustd's choices care.
    enum Place: Equatable {
        /// A user's apps: their manager's app.slice (or app-*.slice).
        case app
        /// A user's background.slice: indexers, updaters.
        case background
        /// What keeps a user's session alive: their login session scope,
        /// their manager's session.slice, or the manager itself.
        case session
        /// A system unit (system.slice, init.scope and other root slices).
        case system
        /// Anything else: no systemd, a container, a machine.
        case other
    }

    /// Reads the unified hierarchy's line ("0::/path") of /proc/PID/cgroup,
    /// or systemd's named v1 hierarchy ("N:name=systemd:/path") on hybrid
    /// systems where no unified line exists.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> CgroupMembership? {
        var named: [UInt8]?
        for line in bytes.split(separator: 0x0A) {
            guard let first = line.firstIndex(of: UInt8(ascii: ":")),
                let second = line[(first + 1)...].firstIndex(of: UInt8(ascii: ":"))
            else { continue }
            let controllers = line[(first + 1)..<second]
            let path = Array(line[(second + 1)...])
            guard path.first == UInt8(ascii: "/") else { continue }
            if line[line.startIndex..<first].elementsEqual("0".utf8) && controllers.isEmpty {
                return CgroupMembership(path: path)
            }
            if controllers.elementsEqual("name=systemd".utf8) { named = path }
        }
        return named.map { CgroupMembership(path: $0) }
    }

    var components: [ArraySlice<UInt8>] {
        path.split(separator: UInt8(ascii: "/"))
    }

    /// The unit the process belongs to: the deepest ".service" or ".scope"
    /// in its path ("app-gnome-firefox-1234.scope", "ssh.service"), or nil
    /// outside systemd's units.
    var unit: [UInt8]? {
        components.last { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }.map(Array.init)
    }

    /// The slice directly above the unit ("app.slice", "system.slice").
    var slice: [UInt8]? {
        let parts = components
        guard let unitIndex = parts.lastIndex(where: { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }) else { return nil }
        return parts[..<unitIndex].last { $0.hasSuffix(".slice") }.map(Array.init)
    }

    /// The uid whose tree this is ("user-1000.slice"), for user.slice paths.
    var userSliceUID: UInt32? {
        let parts = components
        guard parts.first?.elementsEqual("user.slice".utf8) == true, parts.count > 1 else { return nil }
        let part = parts[1]
        guard part.starts(with: "user-".utf8), part.hasSuffix(".slice") else { return nil }
        let digits = part.dropFirst(5).dropLast(6)
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let value = parseLeadingInteger(digits), value <= Int(UInt32.max)
        else { return nil }
        return UInt32(value)
    }

    /// Whether the path runs through the user manager "user@UID.service".
    var isInUserManager: Bool {
        components.contains { $0.starts(with: "user@".utf8) && $0.hasSuffix(".service") }
    }

    var place: Place {
        let parts = components
        guard let top = parts.first else { return .other }
        if top.elementsEqual("user.slice".utf8) {
            guard userSliceUID != nil else { return .other }
            let inManager = isInUserManager
            // The login session's own scope, directly in the user's slice.
            if !inManager, let scope = parts.last, scope.starts(with: "session-".utf8), scope.hasSuffix(".scope") {
                return .session
            }
            guard inManager else { return .other }
            if let managerIndex = parts.firstIndex(where: { $0.starts(with: "user@".utf8) && $0.hasSuffix(".service") }) {
                let below = parts[(managerIndex + 1)...]
                guard let first = below.first else { return .session }  // the manager's own cgroup
                if first.elementsEqual("init.scope".utf8) || first.elementsEqual("session.slice".utf8) { return .session }
                if first.elementsEqual("background.slice".utf8) { return .background }
                if first.elementsEqual("app.slice".utf8) || (first.starts(with: "app-".utf8) && first.hasSuffix(".slice")) {
                    return .app
                }
            }
            return .other
        }
        if top.elementsEqual("system.slice".utf8) || top.elementsEqual("init.scope".utf8) { return .system }
        if top.elementsEqual("machine.slice".utf8) { return .other }
        // Other root slices are made by the administrator's units.
        return top.hasSuffix(".slice") || top.hasSuffix(".scope") ? .system : .other
    }

    /// On equal rank, who goes first: a user's background work, then their
    /// apps, then anything else, and their session last.
    var tieOrder: Int {
        switch place {
        case .background: return 3
        case .app: return 2
        case .other, .system: return 1
        case .session: return 0
        }
    }

    /// Whether this is a login session's scope ("session-3.scope").
    var isSessionScope: Bool {
        guard let last = components.last else { return false }
        return last.starts(with: "session-".utf8) && last.hasSuffix(".scope") && !isInUserManager
    }
}

extension ArraySlice where Element == UInt8 {
    func hasSuffix(_ suffix: String) -> Bool {
        let tail = Array(suffix.utf8)
        return count >= tail.count && self.suffix(tail.count).elementsEqual(tail)
    }
}
