import CBustd
import Shared

/// Log lines that are also records: under journald (Log.journal set), the
/// line goes to journald's native socket with PRIORITY, SYSLOG_IDENTIFIER,
/// its kind's MESSAGE_ID and the BUSTD_* fields the caller adds; elsewhere
/// it is the same text line as ever, and the fields are never built.
extension Log {
    /// kind: nil for a line no reader selects by MESSAGE_ID.
    static func record(
        _ level: LogLevel, _ kind: RecordKind?, _ message: String, fields: (inout JournalFields) -> Void
    ) {
        guard let journal else {
            writeLine(level, message)
            return
        }
        // Verbose lines carry the monotonic time, as the text lines do.
        let message = verbose ? monotonicStamp(bustd_monotonic_us()) + " " + message : message
        func compose(_ limit: Int?) -> JournalFields {
            var record = JournalFields(valueLimit: limit)
            record.addHeader(priority: level.rawValue, kind: kind, message: message)
            fields(&record)
            return record
        }
        // A rehearsal composes the record (that is part of the rehearsal:
        // its code and heap are then resident) but sends nothing.
        if rehearsing {
            rehearsedBytes &+= compose(nil).bytes.count
            return
        }
        if !journal.send(compose) { writeFallback(level, message) }
    }

    /// journald's socket is absent or refused the record: the text line
    /// on stderr, which journald's stream still reads.
    private static func writeFallback(_ level: LogLevel, _ message: String) {
        writeStandardError("<\(level.rawValue)>" + message + "\n")
    }

    static func record(_ level: LogLevel, _ kind: RecordKind, _ message: String, event: Event.Payload) {
        record(level, kind, message) { event.addFields(to: &$0) }
    }
}
