// Which desktop app a killed process belonged to, so that a notification
// says "bustd closed Firefox (Web Content, PID 4242)" where a person knows
// "Firefox" and not the thread name. systemd desktops start every app in a
// unit named after its desktop entry (the XDG "app" unit names):
//
//   app[-<launcher>]-<ApplicationID>-<RANDOM>.scope
//   app[-<launcher>]-<ApplicationID>[@<RANDOM>].service
//
// where a "-" inside the application ID is escaped as "\x2d". The entry
// <ApplicationID>.desktop is then looked up the way the desktop does
// (GIO's GDesktopAppInfo, which libnotify already links).
import CGioUnix
import CLibNotify

struct DesktopApp: Equatable {
    var name: String
    /// An icon name or file, as the desktop entry gives it.
    var icon: String?
}

/// The application ID in an app unit's name, or nil for any other unit.
func applicationID(ofUnit unit: String) -> String? {
    var name = Substring(unit)
    let isScope = name.hasSuffix(".scope")
    guard isScope || name.hasSuffix(".service") else { return nil }
    name = name.dropLast(isScope ? 6 : 8)
    guard name.hasPrefix("app-") else { return nil }
    name = name.dropFirst(4)
    if isScope {
        // The random part after the last "-" (the ID's own dashes are escaped).
        guard let dash = name.lastIndex(of: "-") else { return nil }
        name = name[..<dash]
    } else if let at = name.firstIndex(of: "@") {
        name = name[..<at]
    }
    // What is left is "<launcher>-<ID>" or "<ID>".
    if let dash = name.firstIndex(of: "-") { name = name[name.index(after: dash)...] }
    let id = name.replacingOccurrences(of: "\\x2d", with: "-")
    guard !id.isEmpty,
        id.unicodeScalars.allSatisfy({
            $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "._-".unicodeScalars.contains($0))
        })
    else { return nil }
    return id
}

extension Substring {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }

    fileprivate func range(of target: String) -> Range<Index>? {
        guard !target.isEmpty else { return nil }
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(target) { return start..<index(start, offsetBy: target.count) }
            start = index(after: start)
        }
        return nil
    }
}

/// Desktop entries by application ID, as the session sees them
/// ($XDG_DATA_HOME, $XDG_DATA_DIRS): through GIO. Results are cached (an
/// app is looked up once per notifier run).
final class DesktopAppDirectory {
    private var cache: [String: DesktopApp?] = [:]

    func app(forUnit unit: [UInt8]?) -> DesktopApp? {
        guard let unit, let id = applicationID(ofUnit: String(decoding: unit, as: UTF8.self)) else { return nil }
        if let known = cache[id] { return known }
        let found = lookUp(id)
        if cache.count < 256 { cache[id] = found }
        return found
    }

    private func lookUp(_ id: String) -> DesktopApp? {
        guard let info = g_desktop_app_info_new(id + ".desktop") else { return nil }
        defer { g_object_unref(UnsafeMutableRawPointer(info)) }
        let app = info  // a GDesktopAppInfo is a GAppInfo
        guard let name = g_app_info_get_name(app) else { return nil }
        var icon: String?
        if let gicon = g_app_info_get_icon(app), let text = g_icon_to_string(gicon) {
            icon = String(cString: text)
            g_free(text)
        }
        return DesktopApp(name: String(cString: name), icon: icon)
    }
}
