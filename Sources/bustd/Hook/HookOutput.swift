import Shared

/// What a hook wrote (stdout and stderr), kept up to a bound: the first
/// lines go to the log, the rest is counted, so a chatty hook cannot fill
/// the log or bustd's memory.
struct HookOutput {
    static let byteLimit = 2048
    static let lineLimit = 10

    private(set) var kept: [UInt8] = []
    private(set) var droppedBytes = 0

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let room = max(0, HookOutput.byteLimit - kept.count)
        kept.append(contentsOf: bytes.prefix(room))
        droppedBytes += max(0, bytes.count - room)
    }

    /// The lines to log, escaped, then a line saying what was left out.
    func lines() -> [String] {
        var text = kept[...]
        if text.last == UInt8(ascii: "\n") { text = text.dropLast() }
        guard !text.isEmpty || droppedBytes > 0 else { return [] }
        let all = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var out = all.prefix(HookOutput.lineLimit).map { quoted($0) }
        let moreLines = all.count - out.count
        if moreLines > 0 || droppedBytes > 0 {
            let lines = moreLines > 0 ? "\(moreLines) more line\(moreLines == 1 ? "" : "s")" : ""
            let bytes = droppedBytes > 0 ? "\(lines.isEmpty ? "" : " and ")\(droppedBytes) more bytes" : ""
            out.append("(\(lines)\(bytes) not logged)")
        }
        return out
    }
}
