import CBustd

/// --pre-kill and --post-kill: a command split at spaces into argv and
/// executed directly, never through a shell (a user who wants one writes
/// '/bin/sh -c ...' and owns that choice).
///
/// bustd runs it as root, so the file is judged as an attacker would plant
/// it: an absolute path, a regular file (not a symbolic link) owned by root
/// and writable by no one else, in a directory owned by root and writable
/// by no one else, under directories owned by root that no one else may
/// write (or sticky, like /var/tmp, where no one else may rename it).
struct HookCommand: Equatable {
    /// arguments[0] is the executable's absolute path.
    var arguments: [String]
    var path: String { arguments[0] }

    /// The spawn passes at most this many arguments.
    static let maxArguments = 63
    static let maxBytes = 4096

    static func parse(_ text: String, option: String) throws(OptionError) -> HookCommand {
        let arguments = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let first = arguments.first else { throw OptionError("option \(option) needs a command") }
        guard first.hasPrefix("/") else {
            throw OptionError(
                "invalid value \(quotedArgument(text)) for \(option): the command must start with an absolute path (no shell, no PATH search)"
            )
        }
        guard !first.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw OptionError("invalid value \(quotedArgument(text)) for \(option): the path may not contain . or .. components")
        }
        guard arguments.count <= maxArguments, text.utf8.count <= maxBytes else {
            throw OptionError(
                "invalid value for \(option): at most \(maxArguments) arguments and \(maxBytes) bytes")
        }
        return HookCommand(arguments: arguments)
    }

    /// Why root must not run the file at path (nil: it may). lstat
    /// throughout: no symbolic link is followed, at any level.
    static func refusal(path: String) -> String? {
        var info = FileIdentity()
        guard bustd_lstat_identity(path, &info) == 0 else {
            return "cannot use \(quotedArgument(path)): \(errorText(bustd_errno()))"
        }
        if info.mode & 0o170000 == 0o120000 {
            return "\(quotedArgument(path)) is a symbolic link; give the path of the file itself"
        }
        guard info.mode & 0o170000 == 0o100000 else { return "\(quotedArgument(path)) is not a regular file" }
        guard info.uid == 0 else { return "\(quotedArgument(path)) is not owned by root" }
        guard info.mode & 0o022 == 0 else { return "\(quotedArgument(path)) is writable by its group or others" }
        guard info.mode & 0o100 != 0 else { return "\(quotedArgument(path)) is not executable" }
        var directory = directoryAbove(path)
        var isParent = true
        while true {
            if let problem = directoryRefusal(directory, isParent: isParent) { return problem }
            if directory == "/" { return nil }
            directory = directoryAbove(directory)
            isParent = false
        }
    }

    /// The hook's own directory may be written by root alone; a directory
    /// above it may also be sticky (/var/tmp): others can add files there,
    /// but not rename or remove root's.
    private static func directoryRefusal(_ directory: String, isParent: Bool) -> String? {
        var info = FileIdentity()
        guard bustd_lstat_identity(directory, &info) == 0 else {
            return "cannot use \(quotedArgument(directory)): \(errorText(bustd_errno()))"
        }
        guard info.mode & 0o170000 == 0o040000 else {
            return "\(quotedArgument(directory)) is not a directory (a symbolic link?); give the path without links"
        }
        guard info.uid == 0 else { return "\(quotedArgument(directory)) is not owned by root" }
        let sticky = info.mode & 0o1000 != 0
        if info.mode & 0o022 != 0 && (isParent || !sticky) {
            return "\(quotedArgument(directory)) is writable by its group or others"
        }
        return nil
    }

    private static func directoryAbove(_ path: String) -> String {
        let parts = path.split(separator: "/")
        return parts.count <= 1 ? "/" : "/" + parts.dropLast().joined(separator: "/")
    }
}
