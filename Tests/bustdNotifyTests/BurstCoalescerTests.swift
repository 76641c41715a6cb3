import Shared
import Testing

@testable import bustd_notify

/// The notification an event asks for, required to exist.
private func next(_ coalescer: inout BurstCoalescer, _ event: Event, note: String? = nil) throws -> NotificationContent {
    let content = coalescer.notification(for: event, note: note)
    return try #require(content)
}

@Suite struct BurstCoalescerTests {
    @Test func killIsShownAtOnceThenUpdatedByKilled() throws {
        var coalescer = BurstCoalescer(settings: Settings())
        let first = try next(&coalescer, Fixtures.event(.kill(Fixtures.kill()), sequence: 1))
        #expect(first.summary == "bustd killed firefox (PID 4242)")
        #expect(!first.body.contains("freed"))
        let update = try next(&coalescer, Fixtures.event(.killed(Fixtures.killed()), sequence: 2, timeMs: 1_764_180_002_500))
        #expect(update.slot == first.slot)
        #expect(update.body.hasSuffix("2.1 GiB freed."))
    }

    @Test func killsWithinTheWindowShareOneNotification() throws {
        var coalescer = BurstCoalescer(settings: Settings())
        let base: Int64 = 1_764_180_000_000
        let a = try next(&coalescer, Fixtures.event(.kill(Fixtures.kill(pid: 1, name: "a")), sequence: 1, timeMs: base))
        let b = try next(&coalescer, Fixtures.event(.kill(Fixtures.kill(pid: 2, name: "b")), sequence: 2, timeMs: base + 400))
        let c = try next(&coalescer, Fixtures.event(.kill(Fixtures.kill(pid: 3, name: "c")), sequence: 3, timeMs: base + 1_000))
        #expect(a.slot == b.slot && b.slot == c.slot)
        #expect(c.summary == "bustd killed 3 processes: a, b, c")
        let freed = try next(
            &coalescer,
            Fixtures.event(.killed(Fixtures.killed(pid: 2, name: "b", recoveredKiB: 1_048_576)), sequence: 4, timeMs: base + 1_200))
        #expect(freed.slot == a.slot)
        #expect(freed.body.hasSuffix("1 GiB freed."))
        // Past the window: a notification of its own.
        let d = try next(&coalescer, Fixtures.event(.kill(Fixtures.kill(pid: 4, name: "d")), sequence: 5, timeMs: base + 1_001 + 1_000))
        #expect(d.slot != a.slot)
        #expect(d.summary == "bustd killed d (PID 4)")
        // A late killed of the first burst still finds it.
        let late = try next(
            &coalescer,
            Fixtures.event(.killed(Fixtures.killed(pid: 1, name: "a", recoveredKiB: 1_048_576)), sequence: 6, timeMs: base + 5_000))
        #expect(late.slot == a.slot)
        #expect(late.body.hasSuffix("2 GiB freed."))
    }

    @Test func zeroWindowNeverGroups() throws {
        var settings = Settings()
        settings.burstWindowMs = 0
        var coalescer = BurstCoalescer(settings: settings)
        let a = try next(&coalescer, Fixtures.event(.kill(Fixtures.kill(pid: 1)), sequence: 1, timeMs: 10))
        let b = try next(&coalescer, Fixtures.event(.kill(Fixtures.kill(pid: 2)), sequence: 2, timeMs: 11))
        #expect(a.slot != b.slot)
    }

    @Test func killedWithoutItsKillStandsAlone() throws {
        var coalescer = BurstCoalescer(settings: Settings())
        let content = try next(&coalescer, Fixtures.event(.killed(Fixtures.killed()), sequence: 9))
        #expect(content.summary == "bustd killed firefox (PID 4242)")
        #expect(content.body == "2.1 GiB freed.")
    }

    @Test func disabledKindsAreSilent() {
        var settings = Settings()
        settings.enabledKinds = [.warning]
        var coalescer = BurstCoalescer(settings: settings)
        #expect(coalescer.notification(for: Fixtures.event(.kill(Fixtures.kill()), sequence: 1)) == nil)
        #expect(coalescer.notification(for: Fixtures.event(.killed(Fixtures.killed()), sequence: 2)) == nil)
        #expect(coalescer.notification(for: Fixtures.event(.kernelOOM(Event.KernelOOM(count: 1, source: .vmstat)), sequence: 3)) == nil)
        #expect(
            coalescer.notification(
                for: Fixtures.event(
                    .warning(
                        Event.Warning(
                            figures: Event.Figures(availablePercent: 900, swapFreePercent: 0),
                            thresholds: Fixtures.thresholds, victim: nil)), sequence: 4)) != nil)
    }

    @Test func replayNoteIsAppended() throws {
        var coalescer = BurstCoalescer(settings: Settings())
        let content = try next(
            &coalescer, Fixtures.event(.kill(Fixtures.kill()), sequence: 1),
            note: "This happened 4 min ago.")
        #expect(content.body.hasSuffix("available). This happened 4 min ago."))
    }
}

@Suite struct NotificationQueueTests {
    private func content(_ slot: Int) -> NotificationContent {
        NotificationContent(slot: slot, kind: .kill, summary: "s\(slot)", body: "b")
    }

    @Test func updatesReplaceAndTheQueueIsBounded() {
        var queue = NotificationQueue()
        queue.enqueue(content(1))
        var updated = content(1)
        updated.summary = "new"
        queue.enqueue(updated)
        #expect(queue.waiting == [updated])
        for slot in 2...(NotificationQueue.capacity + 3) { queue.enqueue(content(slot)) }
        #expect(queue.waiting.count == NotificationQueue.capacity)
        #expect(queue.dropped == 3)
        #expect(queue.next?.body == "b (3 older notifications were dropped while the desktop was unreachable.)")
        queue.removeFirst()
        #expect(queue.next?.body == "b")
    }

    @Test func backoffDoublesToItsCeilingAndNeverZero() {
        var backoff = Backoff(initialMs: 500, maximumMs: 30_000)
        let delays = (0..<9).map { _ in backoff.nextDelay() }
        #expect(delays == [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
        backoff.reset()
        #expect(backoff.nextDelay() == 500)
        var zero = Backoff(initialMs: 0, maximumMs: 0)
        #expect(zero.nextDelay() == 1)
    }
}
