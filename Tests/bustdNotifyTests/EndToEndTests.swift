import Foundation
import Shared
import Testing

private func kill(pid: Int32, name: String) -> Event.Payload {
    .kill(
        Event.Kill(
            pid: pid, uid: 65534, userName: "nobody", processName: Array(name.utf8),
            commandLine: Array(name.utf8), executablePath: nil, rssKiB: 3_145_728, swapKiB: 0,
            oomScore: 900, oomScoreAdj: 0, signal: "SIGTERM", rule: .lowMemory,
            figures: Event.Figures(availablePercent: 300, swapFreePercent: 0, pressurePercent: 4100),
            thresholds: Event.Thresholds(
                memoryTerminatePercent: 1000, memoryKillPercent: 500,
                swapTerminatePercent: 1000, swapKillPercent: 500,
                pressureCutoffPercent: 2500),
            dryRun: false))
}

private func kill(pid: Int32, name: String, unit: String) -> Event.Payload {
    guard case .kill(var event) = kill(pid: pid, name: name) else { fatalError() }
    event.unit = Array(unit.utf8)
    event.cgroup = Array(("/user.slice/user-65534.slice/user@65534.service/app.slice/" + unit).utf8)
    return .kill(event)
}

private func killed(pid: Int32, name: String) -> Event.Payload {
    .killed(
        Event.Killed(
            pid: pid, uid: 65534, processName: Array(name.utf8), timeToExitMs: 120,
            recoveredKiB: 2_202_010, signals: "SIGTERM"))
}

/// A session bus, the recording server, a fake bustd and bustd-notify
/// subscribed to it.
private func connectedSession(_ notifierArguments: [String] = []) throws -> (NotifySession, FakeDaemon) {
    let session = try NotifySession()
    try session.startBus()
    try session.startNotificationServer()
    let daemon = try FakeDaemon(path: session.socketPath)
    try session.startNotifier(notifierArguments)
    try daemon.acceptSubscriber()
    return (session, daemon)
}

/// bustd-notify as an unprivileged user, a real session bus, a fake
/// notification server recording each Notify call, and a fake bustd.
@Suite(.serialized, .enabled(if: NotifySession.canRun, "needs root, setpriv, dbus-daemon and python3-dbus"))
struct EndToEndTests {
    /// The kill event names the victim's unit; an app unit names a desktop
    /// entry, and the notification names the app with its icon.
    @Test func aKilledAppIsNamedByItsDesktopEntry() throws {
        let session = try NotifySession()
        let data = session.sessionDirectory + "/data"
        let applications = data + "/applications"
        try FileManager.default.createDirectory(atPath: applications, withIntermediateDirectories: true)
        try "[Desktop Entry]\nType=Application\nName=Example Browser\nIcon=example-browser\nExec=true\n"
            .write(toFile: applications + "/org.example.Browser.desktop", atomically: false, encoding: .utf8)
        _ = chown(data, UInt32(NotifySession.user)!, UInt32(NotifySession.user)!)
        try session.startBus()
        try session.startNotificationServer()
        let daemon = try FakeDaemon(path: session.socketPath)
        try session.startNotifier([], environment: ["XDG_DATA_HOME": data, "XDG_DATA_DIRS": data])
        try daemon.acceptSubscriber()

        try daemon.send(kill(pid: 4242, name: "Web Content", unit: "app-gnome-org.example.Browser-4242.scope"))
        try session.waitFor("the kill notification") { session.notifyCalls.count >= 1 }
        #expect(session.notifyCalls[0]["summary"] as? String == "bustd closed Example Browser (Web Content, PID 4242)")
        #expect(session.notifyCalls[0]["icon"] as? String == "example-browser")
        // A unit that is no app's, or an app without an entry: as before.
        try daemon.send(kill(pid: 77, name: "postgres", unit: "app-nothing\\x2dhere-1.scope"))
        try session.waitFor("the second notification") { session.notifyCalls.count >= 2 }
        let second = session.notifyCalls[1]["summary"] as? String ?? ""
        #expect(second == "bustd killed 2 processes: Example Browser (Web Content), postgres", "\(second)")
    }

    @Test func killAndKilledBecomeOneNotification() throws {
        let (session, daemon) = try connectedSession()
        #expect(daemon.subscribeRequest == SubscribeRequest(since: 0, instance: daemon.instance))

        let sentAt = try daemon.send(kill(pid: 4242, name: "firefox"))
        try session.waitFor("the kill notification") { session.notifyCalls.count >= 1 }
        let first = session.notifyCalls[0]
        // A missing time must fail, not count as 0 (a latency below zero).
        let calledAt = try #require(first["time"] as? Double, "the Notify call has no time: \(first)")
        let latencyMs = (calledAt - sentAt) * 1000
        print("bustd-notify: event to Notify call: \(String(format: "%.1f", latencyMs)) ms")
        #expect(latencyMs >= 0 && latencyMs < 100)
        #expect(first["summary"] as? String == "bustd killed firefox (PID 4242)")
        #expect(first["app_name"] as? String == "bustd")
        #expect(first["urgency"] as? Int == 2)
        #expect(first["timeout"] as? Int == 15_000)

        try daemon.send(killed(pid: 4242, name: "firefox"))
        try session.waitFor("the update") { session.notifyCalls.count >= 2 }
        let update = session.notifyCalls[1]
        #expect(update["replaces_id"] as? Int == first["id"] as? Int)
        #expect(update["summary"] as? String == "bustd killed firefox (PID 4242)")
        #expect(
            update["body"] as? String
                == "Available memory was 3 %, memory pressure 41 % (bustd acts at 10 % available). 2.1 GiB freed.")
    }

    /// The first round trip to the server (proxy, capabilities) happens at
    /// start, not when the first kill needs showing.
    @Test func theServerIsAskedBeforeTheFirstEvent() throws {
        let (session, daemon) = try connectedSession()
        try session.waitFor("the capabilities call") { session.recordLines.contains { $0["call"] as? String == "GetCapabilities" } }
        #expect(session.notifyCalls.isEmpty)

        try daemon.send(kill(pid: 4242, name: "firefox"))
        try session.waitFor("the kill notification") { session.notifyCalls.count >= 1 }
        let asked = session.recordLines.filter { $0["call"] as? String == "GetCapabilities" }
        #expect(asked.count == 1, "asked once per connection, not once per notification")
    }

    @Test func hostileNamesAreEscapedOnTheWire() throws {
        let (session, daemon) = try connectedSession(["--burst-window", "0"])
        try daemon.send(
            .killFailed(
                Event.KillFailed(
                    pid: 7, uid: 65534, processName: Array("<i>x&y</i>\n".utf8),
                    reason: "<b>EPERM</b>")))
        try session.waitFor("the notification") { session.notifyCalls.count >= 1 }
        #expect(session.notifyCalls[0]["summary"] as? String == "bustd could not kill ‹i›x＆y‹/i›? (PID 7)")
        #expect(session.notifyCalls[0]["body"] as? String == "Reason: &lt;b&gt;EPERM&lt;/b&gt;.")
    }

    @Test func aServerThatIsNotRootIsRefused() throws {
        let session = try NotifySession()
        try session.startBus()
        try session.startNotificationServer()
        // The socket directory is the user's here, so the user can serve it.
        chown(session.directory + "/run", 65534, 65534)
        let hello = Event(
            sequence: 0, instance: "f00d", timeMs: FakeDaemon.nowMs,
            payload: .hello(Event.Hello(daemonVersion: "0.1.0", scope: .all, peerUID: 65534, retained: nil)))
        let event = Event(sequence: 1, instance: "f00d", timeMs: FakeDaemon.nowMs, payload: kill(pid: 1, name: "forged"))
        let script = """
            import socket, sys, time
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
            while True:
                c, _ = s.accept(); c.sendall(sys.argv[2].encode()); time.sleep(0.2)
            """
        try session.start([NotifySession.python, "-c", script, session.socketPath, hello.encodeLine() + event.encodeLine()])
        try session.waitFor("the fake socket") { FileManager.default.fileExists(atPath: session.socketPath) }
        try session.startNotifier()
        try session.waitFor("the refusal") { session.notifierLog.contains("not by root") }
        #expect(session.notifierLog.contains("refusing the event socket: it is served by uid 65534"))
        usleep(1_500_000)  // a few reconnects
        #expect(session.notifyCalls.isEmpty)
        #expect(session.notifier?.isRunning == true)
    }

    @Test func bothKillsAreShownAcrossADaemonRestart() throws {
        // --burst-window 0: else the two kills would share one notification.
        let (session, firstDaemon) = try connectedSession(["--burst-window", "0"])
        try firstDaemon.send(kill(pid: 100, name: "first"))
        try session.waitFor("the first kill") { session.notifyCalls.count >= 1 }
        firstDaemon.stop()
        // A new instance: its sequence numbers start again at 1.
        let daemon = try FakeDaemon(path: session.socketPath)
        try daemon.acceptSubscriber()
        #expect(daemon.subscribeRequest?.instance == daemon.instance)
        try daemon.send(kill(pid: 200, name: "second"))
        try session.waitFor("the second kill") { session.notifyCalls.count >= 2 }
        #expect(
            session.notifyCalls.map { $0["summary"] as? String } == [
                "bustd killed first (PID 100)",
                "bustd killed second (PID 200)",
            ])
    }

    @Test func aKillWaitsForTheBusToAppear() throws {
        let session = try NotifySession()
        let daemon = try FakeDaemon(path: session.socketPath)
        try session.startNotifier()
        try daemon.acceptSubscriber()
        try daemon.send(kill(pid: 300, name: "early"))
        try session.waitFor("the no-bus message") { session.notifierLog.contains("cannot show notifications") }
        usleep(500_000)
        try session.startBus()
        try session.startNotificationServer()
        try session.waitFor("the queued kill", timeout: 40) { session.notifyCalls.count >= 1 }
        #expect(session.notifyCalls[0]["summary"] as? String == "bustd killed early (PID 300)")
        // The server records the call before the notifier hears back and
        // logs the recovery: wait for the line rather than race it.
        try session.waitFor("the recovery message") { session.notifierLog.contains("notifications reach the desktop again") }
        #expect(session.notifier?.isRunning == true)
    }

    @Test func testFlagShowsASample() throws {
        let session = try NotifySession()
        try session.startBus()
        try session.startNotificationServer()
        let run = try session.start([NotifySession.binary, "--test"], log: session.notifierLogPath)
        run.waitUntilExit()
        #expect(run.terminationStatus == 0)
        try session.waitFor("the sample") { session.notifyCalls.count >= 1 }
        #expect(session.notifyCalls[0]["summary"] as? String == "Test: bustd killed firefox (PID 4242)")
    }
}
