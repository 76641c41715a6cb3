import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// journald's native socket: each record one datagram of JournalFields,
/// sent with sendto(2) on an unconnected socket (so a restarted journald
/// is found again), non-blocking (a journald that lags never holds up a
/// kill: the record goes to stderr instead).
///
/// $BUSTD_JOURNAL_SOCKET names another socket (the tests' recorder). A
/// root daemon taking a path from its environment is acceptable here: the
/// environment is root's (the unit's), and the variable is only read when
/// stderr already is journald's stream.
final class JournalSocket {
    static let defaultPath = "/run/systemd/journal/socket"
    /// Values are cut to this when a record is too big for the socket.
    static let truncatedValueBytes = 512

    let path: String
    private let fd: Int32

    init?(path: String) {
        fd = bustd_datagram_socket()
        guard fd >= 0 else { return nil }
        self.path = path
    }

    deinit { close(fd) }

    /// The socket to use when stderr is journald's stream, else nil.
    static func forStandardError() -> JournalSocket? {
        guard JournalStream.isStandardErrorJournal() else { return nil }
        let override = getenv("BUSTD_JOURNAL_SOCKET").map { String(cString: $0) }
        return JournalSocket(path: override.flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath)
    }

    /// Sends one record; false when journald is absent or refuses it (the
    /// caller then writes the text line). compose builds the fields, with
    /// a cap on each value when the first datagram was too big (EMSGSIZE):
    /// the cut record says so in BUSTD_TRUNCATED=1.
    func send(_ compose: (Int?) -> JournalFields) -> Bool {
        let whole = compose(nil)
        if transmit(whole.bytes) { return true }
        guard bustd_errno() == EMSGSIZE else { return false }
        var cut = compose(JournalSocket.truncatedValueBytes)
        if cut.truncated { cut.add("BUSTD_TRUNCATED", true) }
        return transmit(cut.bytes)
    }

    private func transmit(_ bytes: [UInt8]) -> Bool {
        while true {
            let sent = bytes.withUnsafeBytes { bustd_send_datagram(fd, path, $0.baseAddress, $0.count) }
            if sent >= 0 { return true }
            if bustd_errno() != EINTR { return false }
        }
    }
}
