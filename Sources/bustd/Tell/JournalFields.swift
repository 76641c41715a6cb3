import Shared

/// One record in journald's native protocol: NAME=value lines, or, for a
/// value holding a newline or any byte that is not printable text, the
/// length form (NAME, newline, the length as 64-bit little-endian, the
/// bytes, newline), which is binary-safe. Built only when bustd writes to
/// journald natively, so the text sinks never pay for it.
struct JournalFields {
    private(set) var bytes: [UInt8] = []
    /// Values longer than this are cut (nil: none); set when the whole
    /// datagram was too big for the socket (EMSGSIZE).
    let valueLimit: Int?
    /// Whether a value was cut to valueLimit.
    private(set) var truncated = false

    init(valueLimit: Int? = nil) {
        self.valueLimit = valueLimit
        bytes.reserveCapacity(1024)
    }

    /// A field name as journald accepts it from a client: uppercase ASCII
    /// letters, digits and underscores, not starting with an underscore
    /// (those are journald's own trusted fields) or a digit, at most 64 bytes.
    static func isValidName(_ name: some Collection<UInt8>) -> Bool {
        guard let first = name.first, first != 0x5F, !(0x30...0x39).contains(first), name.count <= 64 else { return false }
        return name.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
    }

    /// Whether the value must go in the length form: it holds a newline
    /// (which would end a NAME=value field), another control byte, or any
    /// byte beyond ASCII (a process name or command line is whatever bytes
    /// its owner chose, valid UTF-8 or not). The length form carries any
    /// bytes exactly; plain ASCII text goes as NAME=value.
    static func needsLengthForm(_ value: some Collection<UInt8>) -> Bool {
        value.contains { $0 < 0x20 || $0 >= 0x7F }
    }

    mutating func add(_ name: StaticString, _ value: some Collection<UInt8>) {
        let nameBytes = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        precondition(JournalFields.isValidName(nameBytes), "invalid journal field name")
        var value = Array(value)
        if let valueLimit, value.count > valueLimit {
            value.removeLast(value.count - valueLimit)
            truncated = true
        }
        bytes.append(contentsOf: nameBytes)
        if JournalFields.needsLengthForm(value) {
            bytes.append(0x0A)
            var length = UInt64(value.count)
            for _ in 0..<8 {
                bytes.append(UInt8(truncatingIfNeeded: length))
                length >>= 8
            }
        } else {
            bytes.append(0x3D)  // =
        }
        bytes.append(contentsOf: value)
        bytes.append(0x0A)
    }

    mutating func add(_ name: StaticString, _ value: String) { add(name, value.utf8) }
    mutating func add(_ name: StaticString, _ value: StaticString) {
        add(name, UnsafeBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }
    mutating func add(_ name: StaticString, _ value: Int64) { add(name, "\(value)".utf8) }
    mutating func add(_ name: StaticString, _ value: Int) { add(name, Int64(value)) }
    mutating func add(_ name: StaticString, _ value: Int32) { add(name, Int64(value)) }
    mutating func add(_ name: StaticString, _ value: UInt32) { add(name, Int64(value)) }
    mutating func add(_ name: StaticString, _ value: UInt64) { add(name, "\(value)".utf8) }
    mutating func add(_ name: StaticString, _ value: Bool) { add(name, value ? "1" as StaticString : "0") }

    /// Hundredths of a percent as a decimal: 4.2, 10, 0.05.
    mutating func add(_ name: StaticString, hundredths value: Int) { add(name, formatHundredths(value).utf8) }

    /// The fields every record starts with. The kind's MESSAGE_ID only for
    /// the kinds a reader selects; other lines carry none.
    mutating func addHeader(priority: Int32, kind: RecordKind?, message: String) {
        add("MESSAGE", message)
        add("PRIORITY", priority)
        add("SYSLOG_IDENTIFIER", "bustd" as StaticString)
        if let kind {
            add("MESSAGE_ID", kind.messageID)
            add("BUSTD_KIND", kind.name)
        }
    }
}
