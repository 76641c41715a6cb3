// The notifier's one thread: a poll(2) loop over the event socket with a
// timeout for whichever comes first, the next reconnect or the next try
// to reach the desktop. When there is nothing to wait for, it sleeps in
// poll until bustd writes; it never spins.
import Glibc
import Shared

final class EventLoop {
    private let settings: Settings
    private let verbose: Bool
    private let statePath: String?
    private var replay: ReplayFilter
    private var coalescer: BurstCoalescer
    private let desktop: DesktopNotifier
    private var queue = NotificationQueue()

    private var connection: EventConnection?
    private var greeted = false
    private var connectBackoff = Backoff(initialMs: 500, maximumMs: 30_000)
    private var nextConnectMs: Int64 = 0
    private var connectLog = ConditionLog()

    private var desktopBackoff = Backoff(initialMs: 1_000, maximumMs: 30_000)
    private var nextDesktopTryMs: Int64 = 0
    private var desktopLog = ConditionLog()

    init(settings: Settings, since: UInt64?, verbose: Bool) {
        self.settings = settings
        self.verbose = verbose
        statePath = defaultStatePath()
        replay = ReplayFilter(lastSeen: statePath.flatMap(loadLastSeen), since: since, maxAgeMs: settings.replayMaxAgeMs)
        coalescer = BurstCoalescer(settings: settings)
        let apps = DesktopAppDirectory()
        coalescer.appForUnit = { apps.app(forUnit: $0) }
        desktop = DesktopNotifier(settings: settings)
    }

    func run() -> Never {
        desktop.prepare()
        while true {
            let now = monotonicMs()
            if connection == nil && now >= nextConnectMs { connect(now: now) }
            if !queue.isEmpty && now >= nextDesktopTryMs { flushQueue(now: monotonicMs()) }
            waitForInput()
        }
    }

    /// poll() on the socket (if connected) until the earliest deadline.
    private func waitForInput() {
        var deadlines: [Int64] = []
        if connection == nil { deadlines.append(nextConnectMs) }
        if !queue.isEmpty { deadlines.append(nextDesktopTryMs) }
        let now = monotonicMs()
        let timeout: Int32 = deadlines.min().map { Int32(clamping: max($0 - now, 0)) } ?? -1
        if timeout == 0 { return }
        var descriptor = pollfd(fd: connection?.fd ?? -1, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeout)
        guard ready > 0, let connection else { return }
        switch connection.readLines() {
        case .lines(let lines):
            for line in lines { handle(line: line) }
        case .closed(let why):
            disconnect(why)
        }
    }

    private func connect(now: Int64) {
        switch EventConnection.open(path: settings.socketPath) {
        case .success(let opened):
            connection = opened
            greeted = false
            connectLog.clear()
            if verbose { log("connected to " + settings.socketPath) }
        case .failure(let error):
            connectLog.report(error.description + "; retrying")
            nextConnectMs = now + connectBackoff.nextDelay()
        }
    }

    private func disconnect(_ why: String) {
        connection = nil
        connectLog.report(why + "; reconnecting")
        nextConnectMs = monotonicMs() + connectBackoff.nextDelay()
    }

    private func handle(line: [UInt8]) {
        let event: Event
        do {
            event = try decodeEvent(line: line)
        } catch {
            log("ignoring an event line bustd sent: " + error.description)
            return
        }
        if verbose { log("event: " + String(decoding: line, as: UTF8.self)) }
        if !greeted {
            guard event.type == .hello else {
                disconnect("bustd did not start with hello")
                return
            }
            greeted = true
            connectBackoff.reset()
            let request = replay.subscription(after: event)
            if let error = connection?.send(request.encodeLine()) {
                disconnect("sending the subscribe request: " + error.description)
            }
            return
        }
        if event.type == .hello { return }
        let now = wallClockMs()
        let verdict = replay.judge(event, nowMs: now)
        if let statePath, let lastSeen = replay.lastSeen, let error = saveLastSeen(lastSeen, to: statePath) {
            desktopLog.report("cannot write " + statePath + ": " + error.description)
        }
        guard case .show(let replayed) = verdict else { return }
        let note = replayed ? NotificationText.ageNote(eventTimeMs: event.timeMs, nowMs: now) : nil
        guard let content = coalescer.notification(for: event, note: note) else { return }
        queue.enqueue(content)
        // Shown at once unless the desktop is known to be away (then the
        // retry deadline decides), so a kill reaches the user in milliseconds.
        if monotonicMs() >= nextDesktopTryMs { flushQueue(now: monotonicMs()) }
    }

    private func flushQueue(now: Int64) {
        while let content = queue.next {
            if let failure = desktop.show(content) {
                desktopLog.report(
                    "cannot show notifications (no session bus or notification server?): " + failure
                        + "; keeping \(queue.waiting.count) and retrying")
                nextDesktopTryMs = now + desktopBackoff.nextDelay()
                return
            }
            queue.removeFirst()
            desktopLog.clear("notifications reach the desktop again")
            desktopBackoff.reset()
            nextDesktopTryMs = 0
        }
    }
}
