// Turns events into notifications. A kill is shown at once (the user should
// know now) and its notification is then updated in place: by further kills
// of the same burst ("bustd killed 3 processes: a, b, c") and by each
// victim's killed event (how much memory came back). Bursts are timed by the
// daemon's clock (event time), so replayed events group as they happened.
import Shared

struct BurstCoalescer {
    /// Bursts kept for late killed events; older ones have long been shown.
    static let rememberedBursts = 8

    struct Burst: Equatable {
        var slot: Int
        var startedMs: Int64
        var victims: [BurstVictim]
        /// Appended to the body, e.g. "This happened 4 min ago." for replays.
        var note: String?
    }

    var settings: Settings
    /// The desktop app of a kill's unit (DesktopAppDirectory), if any.
    var appForUnit: ([UInt8]?) -> DesktopApp? = { _ in nil }
    private(set) var bursts: [Burst] = []
    private var nextSlot = 1

    init(settings: Settings) { self.settings = settings }

    mutating func allocateSlot() -> Int {
        defer { nextSlot += 1 }
        return nextSlot
    }

    /// The notification this event asks for (new or updated), if any.
    /// `note` is added to the body (e.g. the age of a replayed event).
    mutating func notification(for event: Event, note: String? = nil) -> NotificationContent? {
        switch event.payload {
        case .hello:
            return nil
        case .kill(let kill):
            guard settings.enabledKinds.contains(.kill) else { return nil }
            // (Two statements: in one, content(of:) would read self before addKill changed it.)
            let index = addKill(kill, at: event.timeMs, note: note)
            return content(of: index)
        case .killed(let killed):
            guard settings.enabledKinds.contains(.kill) else { return nil }
            let index = addKilled(killed, at: event.timeMs, note: note)
            return content(of: index)
        case .killFailed(let failure):
            guard settings.enabledKinds.contains(.killFailed) else { return nil }
            return withNote(NotificationText.killFailed(failure, slot: allocateSlot()), note)
        case .warning(let warning):
            guard settings.enabledKinds.contains(.warning) else { return nil }
            return withNote(NotificationText.warning(warning, slot: allocateSlot()), note)
        case .kernelOOM(let oom):
            guard settings.enabledKinds.contains(.kernelOOM) else { return nil }
            return withNote(NotificationText.kernelOOM(oom, slot: allocateSlot()), note)
        }
    }

    /// Joins the newest burst if it began at most burstWindowMs before, else starts one.
    private mutating func addKill(_ kill: Event.Kill, at timeMs: Int64, note: String?) -> Int {
        let victim = BurstVictim(pid: kill.pid, name: kill.processName, kill: kill, killed: nil, app: appForUnit(kill.unit))
        if var newest = bursts.last, timeMs - newest.startedMs <= Int64(settings.burstWindowMs), timeMs >= newest.startedMs {
            if let index = newest.victims.firstIndex(where: { $0.pid == kill.pid && $0.killed == nil }) {
                newest.victims[index].kill = kill  // the same kill again (escalation): keep one entry
            } else {
                newest.victims.append(victim)
            }
            bursts[bursts.count - 1] = newest
            return bursts.count - 1
        }
        return startBurst(Burst(slot: allocateSlot(), startedMs: timeMs, victims: [victim], note: note))
    }

    /// Completes the victim's entry in the burst that named it; a killed
    /// event whose kill was never seen gets a notification of its own.
    private mutating func addKilled(_ killed: Event.Killed, at timeMs: Int64, note: String?) -> Int {
        for index in bursts.indices.reversed() {
            if let victim = bursts[index].victims.firstIndex(where: { $0.pid == killed.pid && $0.killed == nil }) {
                bursts[index].victims[victim].killed = killed
                return index
            }
        }
        let victim = BurstVictim(pid: killed.pid, name: killed.processName, kill: nil, killed: killed)
        return startBurst(Burst(slot: allocateSlot(), startedMs: timeMs, victims: [victim], note: note))
    }

    private mutating func startBurst(_ burst: Burst) -> Int {
        bursts.append(burst)
        if bursts.count > Self.rememberedBursts { bursts.removeFirst(bursts.count - Self.rememberedBursts) }
        return bursts.count - 1
    }

    private func content(of index: Int) -> NotificationContent {
        let burst = bursts[index]
        // One app's processes: its icon.
        let apps = Set(burst.victims.compactMap { $0.app?.name })
        let icon = apps.count == 1 && burst.victims.allSatisfy({ $0.app != nil }) ? burst.victims[0].app?.icon : nil
        let content = NotificationContent(
            slot: burst.slot, kind: .kill,
            summary: NotificationText.killSummary(burst.victims),
            body: NotificationText.killBody(burst.victims), icon: icon)
        return withNote(content, burst.note)
    }

    private func withNote(_ content: NotificationContent, _ note: String?) -> NotificationContent {
        guard let note else { return content }
        var noted = content
        noted.body = noted.body.isEmpty ? note : noted.body + " " + note
        return noted
    }
}
