import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// The hooks bustd was given: --pre-kill runs before the signal, within a
/// short fixed window; --post-kill after it, beside the loop.
final class Hooks {
    let preKill: Hook?
    let postKill: Hook?

    /// The longest the pre-kill hook may delay a SIGTERM. At the SIGKILL
    /// threshold it does not run at all.
    static let preKillWindowMs: Int64 = 200
    static let postKillTimeoutMs: Int64 = 10_000

    /// nil when no hook is given: the loop then has nothing to do for them.
    /// Fails when a hook's file is not root's alone (HookCommand.refusal).
    static func open(_ options: Options) -> Result<Hooks?, OptionError> {
        guard options.preKill != nil || options.postKill != nil else { return .success(nil) }
        for (option, command) in [("--pre-kill", options.preKill), ("--post-kill", options.postKill)] {
            if let command, let refusal = HookCommand.refusal(path: command.path) {
                return .failure(OptionError("\(option): \(refusal); a hook must be root's alone (see --help)"))
            }
        }
        return .success(
            Hooks(
                preKill: options.preKill.map { Hook(name: "pre-kill", command: $0, timeoutMs: preKillWindowMs) },
                postKill: options.postKill.map { Hook(name: "post-kill", command: $0, timeoutMs: postKillTimeoutMs) }))
    }

    private init(preKill: Hook?, postKill: Hook?) {
        self.preKill = preKill
        self.postKill = postKill
    }

    var isRunning: Bool { preKill?.isRunning == true || postKill?.isRunning == true }

    func appendPollDescriptors(to descriptors: inout [pollfd]) {
        preKill?.appendPollDescriptors(to: &descriptors)
        postKill?.appendPollDescriptors(to: &descriptors)
    }

    func pollTimeout(_ timeout: Int32, nowMs: Int64) -> Int32 {
        let pre = preKill?.pollTimeout(timeout, nowMs: nowMs) ?? timeout
        return postKill?.pollTimeout(pre, nowMs: nowMs) ?? pre
    }

    func service(nowMs: Int64) {
        preKill?.service(nowMs: nowMs)
        postKill?.service(nowMs: nowMs)
    }

    func stop() {
        preKill?.stop()
        postKill?.stop()
    }
}

extension Hooks {
    /// The start-up line: which hooks, and their bounds.
    func describe(dryRun: Bool) -> String {
        var parts: [String] = []
        if let preKill {
            parts.append(
                "pre-kill hook \(quoted(preKill.command.path)) (before a SIGTERM, at most \(Hooks.preKillWindowMs) ms; not at the SIGKILL threshold)"
            )
        }
        if let postKill {
            let limit = Hooks.postKillTimeoutMs / 1000
            parts.append("post-kill hook \(quoted(postKill.command.path)) (after the signal, at most \(limit) s)")
        }
        return parts.joined(separator: "; ") + (dryRun ? "; hooks run in the dry run too, with BUSTD_DRY_RUN=1" : "")
    }
}
