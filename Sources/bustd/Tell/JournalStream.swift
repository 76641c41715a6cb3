import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// Whether stderr is journald's stream: systemd sets $JOURNAL_STREAM to
/// "DEVICE:INODE" of the stream it connects to stderr, and a process
/// checks it against fstat(2) of fd 2. The variable alone is not enough:
/// it is inherited by children whose stderr was redirected elsewhere.
enum JournalStream {
    /// value: $JOURNAL_STREAM's bytes, hostile until parsed; true only for
    /// two decimal numbers, separated by one colon, equal to the device
    /// and inode given.
    static func matches(_ value: some Collection<UInt8>, device: UInt64, inode: UInt64) -> Bool {
        let parts = value.split(separator: 0x3A, omittingEmptySubsequences: false)
        guard parts.count == 2, let streamDevice = decimal(parts[0]), let streamInode = decimal(parts[1]) else { return false }
        return streamDevice == device && streamInode == inode
    }

    /// Whether fd 2 is the stream $JOURNAL_STREAM names.
    static func isStandardErrorJournal() -> Bool {
        guard let variable = getenv("JOURNAL_STREAM") else { return false }
        var identity = FileIdentity()
        guard bustd_fstat_identity(2, &identity) == 0 else { return false }
        let value = UnsafeBufferPointer(start: UnsafeRawPointer(variable).assumingMemoryBound(to: UInt8.self), count: strlen(variable))
        return matches(value, device: identity.device, inode: identity.inode)
    }

    /// Digits only, at most 20 of them, no overflow.
    private static func decimal(_ digits: some Collection<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            guard (0x30...0x39).contains(digit) else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit - 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }
}
