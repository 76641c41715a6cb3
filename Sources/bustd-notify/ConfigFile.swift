// The optional config file, $XDG_CONFIG_HOME/bustd/notify.conf:
//
//   # comment
//   timeout = 20
//   events = kill, kernel-oom
//
// A bad line is reported with the file and line number and skipped: its
// setting keeps the default. The notifier must keep running whatever the
// file holds, since the user may never look at its log.
import Glibc
import Shared

struct ConfigProblem: Equatable, CustomStringConvertible {
    var path: String
    var line: Int
    var message: String

    var description: String { "\(path) line \(line): \(message); the line is ignored" }
}

/// Applies the lines of a config file's text to settings; returns what was wrong.
func applyConfig(text: String, path: String, to settings: inout Settings) -> [ConfigProblem] {
    var problems: [ConfigProblem] = []
    var lineNumber = 0
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
        lineNumber += 1
        let line = trimmedWhitespace(rawLine)
        if line.isEmpty || line.hasPrefix("#") { continue }
        guard let equals = line.firstIndex(of: "=") else {
            problems.append(ConfigProblem(path: path, line: lineNumber, message: "expected key = value"))
            continue
        }
        let key = String(trimmedWhitespace(line[..<equals]))
        let value = String(trimmedWhitespace(line[line.index(after: equals)...]))
        if key.isEmpty {
            problems.append(ConfigProblem(path: path, line: lineNumber, message: "no key before '='"))
        } else if value.isEmpty && key != "icon" {
            problems.append(ConfigProblem(path: path, line: lineNumber, message: "no value for " + quoted(key)))
        } else if let refusal = settings.apply(key: key, value: value) {
            problems.append(ConfigProblem(path: path, line: lineNumber, message: refusal))
        }
    }
    return problems
}

/// Where the config file is: $XDG_CONFIG_HOME/bustd/notify.conf, else
/// ~/.config/bustd/notify.conf; nil when neither can be named.
func defaultConfigPath() -> String? {
    if let base = environment("XDG_CONFIG_HOME"), base.hasPrefix("/") { return base + "/bustd/notify.conf" }
    if let home = environment("HOME"), !home.isEmpty { return home + "/.config/bustd/notify.conf" }
    return nil
}

enum ConfigFileResult: Equatable {
    case absent
    case unreadable(String)
    case text(String)
}

/// Reads the file; a missing file is normal (no config), anything else that
/// stops the read is worth a message.
func readConfigFile(_ path: String) -> ConfigFileResult {
    switch readSmallFile(path, limit: 65_536) {
    case .success(let bytes): return .text(String(decoding: bytes, as: UTF8.self))
    case .failure(let error) where error.code == ENOENT: return .absent
    case .failure(let error): return .unreadable(path + ": " + error.description)
    }
}

/// The settings a run uses: the defaults, then the config file (the one
/// given with --config, none with "none", else the default path), then
/// the command line's options, which win.
func loadSettings(_ options: CommandLineOptions, say: (String) -> Void) -> Settings {
    var settings = Settings()
    if let path = options.configPath == "none" ? nil : (options.configPath ?? defaultConfigPath()) {
        switch readConfigFile(path) {
        case .absent where options.configPath != nil: say(path + ": no such file; using the defaults")
        case .absent: break
        case .unreadable(let why): say(why + "; using the defaults")
        case .text(let text):
            for problem in applyConfig(text: text, path: path, to: &settings) { say(problem.description) }
        }
    }
    for override in options.settingOverrides {
        _ = settings.apply(key: override.key, value: override.value)  // checked by the parser
    }
    return settings
}
