// One notifier per user: under systemd the user unit starts it with the
// graphical session, elsewhere the XDG autostart entry does, and a desktop
// that does both (or a user who enables the unit where the session manager
// runs autostart itself) must not get every notification twice. The first
// copy holds a lock in $XDG_RUNTIME_DIR; a second one exits quietly.
import Glibc

enum InstanceLock {
    /// Whether this process may run: it holds the lock, or there is no
    /// runtime directory to hold one in (then nothing can be told; run).
    /// The descriptor stays open (and the lock held) until the process ends.
    static func acquire(path: String? = defaultPath()) -> Bool {
        guard let path else { return true }
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o600)
        guard fd >= 0 else { return true }  // unusable lock file: run rather than miss kills
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        let held = errno == EWOULDBLOCK
        close(fd)
        return !held
    }

    static func defaultPath() -> String? {
        guard let directory = environment("XDG_RUNTIME_DIR"), directory.hasPrefix("/") else { return nil }
        return directory + "/bustd-notify.lock"
    }
}
