import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

@main
struct BustdMain {
    static func main() {
        // Before anything is allocated: a heap that malloc_trim can compact.
        bustd_restart_without_tcache()
        bustd_forget_tunables()
        var arguments: [String] = []
        var index: Int32 = 1
        while index < bustd_argc() {
            if let argument = bustd_arg(index) { arguments.append(String(cString: argument)) }
            index += 1
        }
        exit(run(arguments))
    }

    /// Everything from the command line to the end of the main loop.
    /// Returns the exit status.
    static func run(_ arguments: [String]) -> Int32 {
        let options: Options
        do {
            switch try parseCommandLine(arguments) {
            case .help:
                writeAll(1, helpText + "\n")
                return 0
            case .version:
                writeAll(1, "bustd \(bustdVersion)\n")
                return 0
            case .status(let command):
                return command.run()
            case .run(let parsed):
                options = parsed
            }
        } catch {
            writeStandardError("bustd: \(error.message)\n")
            return 2
        }

        // Before anything of bustd's own is opened.
        if options.daemonize { bustd_close_inherited_fds() }

        let setup: Setup
        switch Setup.prepare(options) {
        case .success(let prepared): setup = prepared
        case .failure(let error):
            writeStandardError("bustd: \(error.message)\n")
            return error.status
        }
        return setup.run()
    }
}
