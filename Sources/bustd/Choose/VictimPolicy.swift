/// Who may be chosen and how processes are ranked, from the command line.
struct VictimPolicy {
    /// bustd's own pid: never a candidate.
    var ownPID: Int32
    var protection = ProtectionPolicy()
    /// The unified cgroup tree, where there is one: units' preferences.
    var cgroupTree: CgroupTree? = nil
    var prefer: Regex?
    var avoid: Regex?
    var ignoreRootUser = false

    /// --prefer/--avoid move a process by this much on the oom_score scale
    /// (0..2000), as earlyoom does: enough to beat an ordinary process,
    /// not enough to overrule a process the kernel scores far higher.
    static let preferenceBonus = 300

    func bonus(forName name: [UInt8]) -> Int {
        var bonus = 0
        if let prefer, prefer.matches(name) { bonus += VictimPolicy.preferenceBonus }
        if let avoid, avoid.matches(name) { bonus -= VictimPolicy.preferenceBonus }
        return bonus
    }
}
