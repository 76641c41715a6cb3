/// The kinds of log record a journal reader may select by MESSAGE_ID
/// (`journalctl -u bustd MESSAGE_ID=...`). The ids were generated once
/// with `systemd-id128 new` and never change: a fleet's log pipeline keys
/// on them. The README lists them.
enum RecordKind: CaseIterable {
    /// bustd started, with the rules it applies.
    case start
    /// A victim was signalled (or, in a dry run, would have been).
    case kill
    /// A victim exited after its signal.
    case killed
    /// A victim could not be signalled, or outlived SIGKILL.
    case killFailed
    /// Memory nears the low-memory rule.
    case warning
    /// The kernel's own OOM killer killed something.
    case kernelOOM
    /// The periodic memory and pressure report (-r).
    case pressure
    /// A rule fired, but no process could be killed.
    case noVictim

    var messageID: StaticString {
        switch self {
        case .start: "8eee48c8b9f940faaccc195f4cc2e684"
        case .kill: "c7c2fccf30dd4c26bb588151ce40185b"
        case .killed: "413fe01239914ee28552b3ebca5e68c8"
        case .killFailed: "2aff32c86cfc40fab88d7bb2979d17e1"
        case .warning: "855e976679c240da8dcafd9009dbad3c"
        case .kernelOOM: "a7c494a66dce410691b2442a253d9f60"
        case .pressure: "ce589c07e3564faaba521df917de069a"
        case .noVictim: "29d741208f8c4798a8ec72f8debb31c9"
        }
    }

    /// The kind's name as the README and BUSTD_KIND say it.
    var name: StaticString {
        switch self {
        case .start: "start"
        case .kill: "kill"
        case .killed: "killed"
        case .killFailed: "kill-failed"
        case .warning: "warning"
        case .kernelOOM: "kernel-oom"
        case .pressure: "pressure"
        case .noVictim: "no-victim"
        }
    }
}
