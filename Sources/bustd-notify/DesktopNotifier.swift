// Shows notifications through libnotify (the session bus's
// org.freedesktop.Notifications). Each slot keeps its NotifyNotification,
// so an update replaces the notification on screen instead of adding one.
// libnotify calls are synchronous D-Bus calls: nothing here needs a GLib
// main loop, but pending GLib events are drained so they cannot pile up.
import CLibNotify
import Shared

final class DesktopNotifier {
    /// Notifications kept for updates; older slots are released.
    static let rememberedSlots = 16

    private let settings: Settings
    private var initialized = false
    private var shown: [(slot: Int, notification: UnsafeMutablePointer<NotifyNotification>)] = []
    /// Whether the server reads markup in bodies (then < > & must be escaped).
    private var bodyMarkup = true
    private var capabilitiesKnown = false

    init(settings: Settings) { self.settings = settings }

    deinit { reset() }

    /// Connects to the session bus and asks the server's capabilities now,
    /// so that the first real notification (often a kill) does not pay for
    /// it: under memory pressure that first round trip took about 250 ms in
    /// the e2e guest, later ones 10-30 ms. Without a server yet, it leaves
    /// everything to the first show.
    func prepare() {
        guard !capabilitiesKnown, initialize() else { return }
        if learnCapabilities() {
            capabilitiesKnown = true
        } else {
            reset()  // libnotify would keep a proxy to a bus that was not there
        }
    }

    private func initialize() -> Bool {
        if !initialized { initialized = notify_init("bustd") != 0 }
        return initialized
    }

    /// Shows or updates; returns libnotify's error message on failure (no
    /// session bus, no notification server). The caller keeps the content
    /// and tries again later.
    func show(_ content: NotificationContent) -> String? {
        guard initialize() else { return "libnotify could not be initialised" }
        let body = bodyMarkup ? escapedMarkup(content.body) : content.body
        let summary = markupFreeSummary(content.summary)
        let icon: String? = content.icon ?? (settings.icon.isEmpty ? nil : settings.icon)
        let notification: UnsafeMutablePointer<NotifyNotification>
        if let index = shown.firstIndex(where: { $0.slot == content.slot }) {
            notification = shown[index].notification
            notify_notification_update(notification, summary, body, icon)
        } else {
            notification = notify_notification_new(summary, body, icon)
            remember(content.slot, notification)
        }
        notify_notification_set_urgency(notification, urgency(settings.urgency(content.kind)))
        notify_notification_set_timeout(notification, timeoutMs)
        notify_notification_set_app_name(notification, "bustd")
        var error: UnsafeMutablePointer<GError>?
        let ok = notify_notification_show(notification, &error) != 0
        drainMainContext()
        guard ok else {
            let message = error.map { String(cString: $0.pointee.message) } ?? "unknown error"
            if let error { g_error_free(error) }
            // The server or the bus went away: start again with fresh
            // state, since libnotify keeps its first bus proxy forever.
            reset()
            return message
        }
        if !capabilitiesKnown {
            _ = learnCapabilities()
            capabilitiesKnown = true  // a server without GetCapabilities is asked once
        }
        return nil
    }

    private var timeoutMs: Int32 {
        switch settings.timeout {
        case .serverDefault: Int32(NOTIFY_EXPIRES_DEFAULT)
        case .never: Int32(NOTIFY_EXPIRES_NEVER)
        case .milliseconds(let ms): Int32(clamping: ms)
        }
    }

    private func urgency(_ urgency: Urgency) -> NotifyUrgency {
        switch urgency {
        case .low: NOTIFY_URGENCY_LOW
        case .normal: NOTIFY_URGENCY_NORMAL
        case .critical: NOTIFY_URGENCY_CRITICAL
        }
    }

    private func remember(_ slot: Int, _ notification: UnsafeMutablePointer<NotifyNotification>) {
        shown.append((slot: slot, notification: notification))
        while shown.count > Self.rememberedSlots {
            g_object_unref(shown.removeFirst().notification)
        }
    }

    /// Asks the server once per connection whether it reads body markup,
    /// and keeps the shared bus connection from ending the process when the
    /// session bus goes away (GDBus's default for the session bus). Returns
    /// whether the server answered.
    private func learnCapabilities() -> Bool {
        let capabilities = notify_get_server_caps()
        if let capabilities {
            var hasMarkup = false
            var node: UnsafeMutablePointer<GList>? = capabilities
            while let current = node {
                if let data = current.pointee.data,
                    String(cString: data.assumingMemoryBound(to: CChar.self)) == "body-markup"
                {
                    hasMarkup = true
                }
                node = current.pointee.next
            }
            g_list_free_full(capabilities, g_free)
            bodyMarkup = hasMarkup
        }
        if let bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nil, nil) {
            g_dbus_connection_set_exit_on_close(bus, 0)
            g_object_unref(UnsafeMutableRawPointer(bus))
        }
        return capabilities != nil
    }

    /// libnotify subscribes to signals (a notification closed) that GLib
    /// queues for the default main context; nobody runs that loop here.
    private func drainMainContext() {
        while g_main_context_iteration(nil, 0) != 0 {}
    }

    private func reset() {
        for entry in shown { g_object_unref(entry.notification) }
        shown.removeAll()
        capabilitiesKnown = false
        bodyMarkup = true
        if initialized { notify_uninit() }
        initialized = false
    }
}
