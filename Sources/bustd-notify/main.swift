// bustd-notify: desktop notifications for bustd's kills. Reads the config
// file and the command line, then either shows a test notification or runs
// the event loop (EventLoop.swift) until stopped.
import Glibc
import Shared

signal(SIGPIPE, SIG_IGN)  // a daemon that vanished mid-write is a read error, not a death

let options: CommandLineOptions
do {
    options = try parseCommandLine(Array(CommandLine.arguments.dropFirst()))
} catch {
    log(error.description + " (see bustd-notify --help)")
    exit(2)
}

switch options.mode {
case .help:
    print(helpText, terminator: "")
    exit(0)
case .version:
    print("bustd-notify \(bustdVersion)")
    exit(0)
case .run, .test:
    break
}

var settings = Settings()
if let path = options.configPath == "none" ? nil : (options.configPath ?? defaultConfigPath()) {
    switch readConfigFile(path) {
    case .absent where options.configPath != nil: log(path + ": no such file; using the defaults")
    case .absent: break
    case .unreadable(let why): log(why + "; using the defaults")
    case .text(let text):
        for problem in applyConfig(text: text, path: path, to: &settings) { log(problem.description) }
    }
}
for override in options.settingOverrides {
    _ = settings.apply(key: override.key, value: override.value)  // checked by the parser
}

if options.mode == .test {
    if let failure = DesktopNotifier(settings: settings).show(sampleNotification()) {
        log("could not show the test notification: " + failure)
        exit(1)
    }
    print("bustd-notify: test notification shown")
    exit(0)
}

EventLoop(settings: settings, since: options.since, verbose: options.verbose).run()
