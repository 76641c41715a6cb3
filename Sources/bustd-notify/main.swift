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

let settings = loadSettings(options, say: log)

if options.mode == .test {
    if let failure = DesktopNotifier(settings: settings).show(sampleNotification()) {
        log("could not show the test notification: " + failure)
        exit(1)
    }
    print("bustd-notify: test notification shown")
    exit(0)
}

// The user unit and the autostart entry may both start it: one runs.
guard InstanceLock.acquire() else {
    if options.verbose { log("another bustd-notify already runs for this user; exiting") }
    exit(0)
}

EventLoop(settings: settings, since: options.since, verbose: options.verbose).run()
