import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// One subscriber on the event socket.
final class EventPeer {
    let fd: Int32
    let pid: Int32
    let uid: UInt32
    /// Root and members of --socket-group see every event; others only
    /// events about their own processes.
    let seesAll: Bool
    /// Bytes accepted for sending but not yet written: the hello, or the
    /// rest of a line the socket took only part of.
    var pending: [UInt8] = []
    var pendingOffset = 0
    /// The next event of the log to send (its global sequence number).
    var nextSequence: UInt64
    /// For a peer that sees only its own user's events: the number, in
    /// that user's numbering, of the last event it was sent.
    var visibleSequence: UInt64 = 0
    /// Everything the peer wrote so far, and its first line (the request).
    var received = 0
    var requestLine: [UInt8] = []
    var requestHandled = false
    /// The peer shut down its writing side (e.g. `socat -u`): it may still
    /// read, so it stays, but its socket is no longer polled for input
    /// (end-of-file would wake poll forever).
    var inputClosed = false
    /// Why it is being dropped; nil while it is healthy.
    var dropReason: String?
    /// Status requests (StatusRequest.swift): whether one waits for the
    /// monitor's answer, the answer (or refusal) not yet started on the
    /// socket, and the peer's rate.
    var wantsStatus = false
    var statusLine: [UInt8] = []
    var statusRate = StatusRateLimit()

    init(fd: Int32, pid: Int32, uid: UInt32, seesAll: Bool, nextSequence: UInt64) {
        self.fd = fd
        self.pid = pid
        self.uid = uid
        self.seesAll = seesAll
        self.nextSequence = nextSequence
    }

    var name: String { "event peer pid \(pid) uid \(uid)" }
}

/// The event socket: every kill, exit, failure, warning and kernel OOM kill
/// as a line of JSON (Sources/Shared), fanned out to subscribers.
///
/// Nothing here ever blocks: sockets are non-blocking, each peer holds at
/// most one pending line and a cursor into the shared EventLog, and a peer
/// that falls out of the log (it stopped reading), writes too much, or
/// hangs up is dropped. The kill path publishes and moves on.
final class EventServer {
    /// Peers in total, and per user (root is limited by the total only).
    static let maxPeers = 2000
    static let maxPeersPerUser = 64
    /// A peer writes one request line, and status requests; more than
    /// this (served status requests aside) gets it dropped.
    static let maxInputBytes = 4096
    static let defaultPath = "/run/bustd/bustd.sock"

    let path: String
    let instance: String
    private let listenFD: Int32
    private let socketGroup: UInt32?
    private let proc: ProcDirectory
    private(set) var log = EventLog()
    private(set) var peers: [EventPeer] = []
    /// Peers dropped for misbehaving (not hang-ups), for the metrics file.
    private(set) var peersDropped: UInt64 = 0
    private var logLimiter = PeerLogLimiter()
    /// Some peer waits for a status: the monitor answers (answerStatus).
    private(set) var statusWanted = false

    /// Creates the socket (and its directory, root-owned 0755), replacing a
    /// stale socket and refusing to start beside a live daemon. As root it
    /// replaces nothing but a socket: a file, a directory or a symbolic
    /// link at the path (a typo, or something planted) is refused.
    static func open(path: String, socketGroup: UInt32?, proc: ProcDirectory) -> Result<EventServer, StartupError> {
        func failure(_ text: String) -> Result<EventServer, StartupError> { .failure(StartupError(message: text, status: 1)) }
        let directory = parentDirectory(of: path)
        if mkdir(directory, 0o755) == 0 {
            _ = chmod(directory, 0o755)  // whatever the umask
        } else if bustd_errno() != EEXIST {
            return failure("cannot create \(quotedArgument(directory)): \(errorText(bustd_errno()))")
        }
        // Only its owner may replace the socket: never serve from a
        // directory another user can write to.
        if let problem = checkPrivateDirectory(directory, for: "the event socket") { return failure(problem) }
        var existing = FileIdentity()
        if bustd_lstat_identity(path, &existing) == 0 {
            switch existing.mode & 0o170000 {
            case 0o140000:  // a socket
                if bustd_unix_socket_alive(path) != 0 {
                    return failure("another bustd is already serving events on \(quotedArgument(path))")
                }
                unlink(path)  // stale, from a crash
            case 0o120000:
                return failure("\(quotedArgument(path)) is a symbolic link; refusing to replace it with the event socket")
            case 0o040000:
                return failure("\(quotedArgument(path)) is a directory; refusing to put the event socket there")
            default:
                return failure("\(quotedArgument(path)) exists and is not a socket; refusing to replace it (is --socket a typo?)")
            }
        }
        let fd = bustd_listen_unix(path, 128)
        guard fd >= 0 else { return failure("cannot listen on \(quotedArgument(path)): \(errorText(bustd_errno()))") }
        var bound = FileIdentity()
        _ = bustd_lstat_identity(path, &bound)
        _ = bustd_raise_fd_limit(EventServer.maxPeers + 64)
        var generator = SystemRandomNumberGenerator()
        return .success(
            EventServer(
                path: path, listenFD: fd, instance: Event.makeInstanceID(using: &generator),
                socketGroup: socketGroup, proc: proc, bound: (bound.device, bound.inode)))
    }

    /// The socket file bustd bound (device, inode): removed at exit only if
    /// the path still names it.
    private let bound: (UInt64, UInt64)

    private init(
        path: String, listenFD: Int32, instance: String, socketGroup: UInt32?, proc: ProcDirectory,
        bound: (UInt64, UInt64)
    ) {
        self.bound = bound
        self.path = path
        self.listenFD = listenFD
        self.instance = instance
        self.socketGroup = socketGroup
        self.proc = proc
    }

    /// Closes every connection and removes the socket.
    func shutDown() {
        for peer in peers { close(peer.fd) }
        peers.removeAll()
        close(listenFD)
        var info = FileIdentity()
        if bustd_lstat_identity(path, &info) == 0, info.device == bound.0, info.inode == bound.1 { unlink(path) }
    }

    // MARK: Publishing

    /// Numbers, keeps and sends an event. Returns its sequence number.
    @discardableResult
    func publish(_ payload: Event.Payload) -> UInt64 {
        let retained = log.append { sequence in
            let event = Event(sequence: sequence, instance: instance, timeMs: bustd_realtime_ms(), payload: payload)
            let line = Array(event.encodeLine().utf8)
            let redactedLine = redacted(event).map { Array($0.encodeLine().utf8) }
            return RetainedEvent(
                sequence: sequence, subjectUID: event.subjectUID, line: line, redactedLine: redactedLine,
                sequenceDigits: sequenceDigits(in: line),
                redactedSequenceDigits: redactedLine.flatMap { sequenceDigits(in: $0) })
        }
        for peer in peers { flush(peer) }
        removeDroppedPeers()
        return retained.sequence
    }

    /// A warning names the process that would be chosen; other users get
    /// the warning without it. Other events about another user's process
    /// are not sent at all.
    private func redacted(_ event: Event) -> Event? {
        guard case .warning(var warning) = event.payload, warning.victim != nil else { return nil }
        warning.victim = nil
        var copy = event
        copy.payload = .warning(warning)
        return copy
    }

    /// The line this peer gets for the event, or nil: all-scope peers get
    /// the shared line; others get only what concerns their user (or a
    /// redacted copy), numbered in their user's own count.
    private func line(_ event: RetainedEvent, for peer: EventPeer) -> [UInt8]? {
        if peer.seesAll { return event.line }
        guard event.isVisible(to: peer.uid) else { return nil }
        peer.visibleSequence += 1
        if event.subjectUID == peer.uid || event.redactedLine == nil {
            return renumbered(event.line, digits: event.sequenceDigits, sequence: peer.visibleSequence)
        }
        return renumbered(event.redactedLine ?? [], digits: event.redactedSequenceDigits, sequence: peer.visibleSequence)
    }

    // MARK: Polling

    /// The descriptors to poll: the listening socket first, then each peer.
    func appendPollDescriptors(to descriptors: inout [pollfd]) {
        descriptors.append(pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0))
        for peer in peers {
            let wantsToWrite =
                peer.pendingOffset < peer.pending.count || peer.nextSequence < log.nextSequence || !peer.statusLine.isEmpty
            let input = peer.inputClosed ? Int16(0) : Int16(POLLIN)
            descriptors.append(pollfd(fd: peer.fd, events: input | (wantsToWrite ? Int16(POLLOUT) : 0), revents: 0))
        }
    }

    /// Handles what poll reported, for the descriptors appendPollDescriptors gave.
    /// Serves what poll reported on the socket and the peers. Returns
    /// whether there was anything to serve.
    @discardableResult
    func handle(_ descriptors: ArraySlice<pollfd>) -> Bool {
        guard let first = descriptors.first, descriptors.contains(where: { $0.revents != 0 }) else { return false }
        logLimiter.flush(nowMs: bustd_monotonic_ms()) { Log.notice($0) }
        let current = peers
        for (offset, entry) in descriptors.dropFirst().enumerated() where offset < current.count {
            let peer = current[offset]
            guard entry.fd == peer.fd, entry.revents != 0 else { continue }
            if entry.revents & Int16(POLLIN) != 0 { read(from: peer) }
            if entry.revents & Int16(POLLERR | POLLNVAL) != 0 {
                drop(peer, "connection error", kind: "event peer: connection error")
            } else if entry.revents & Int16(POLLHUP) != 0 && peer.dropReason == nil {
                drop(peer, nil)
            }
            if peer.dropReason == nil && entry.revents & Int16(POLLOUT) != 0 { flush(peer) }
        }
        removeDroppedPeers()
        if first.revents & Int16(POLLIN) != 0 { acceptPeers() }
        return true
    }

    private func acceptPeers() {
        // A bounded batch per wake, so a connection storm cannot starve
        // the memory checks.
        for _ in 0..<64 {
            let fd = bustd_accept(listenFD)
            if fd < 0 { return }
            var pid: Int32 = 0
            var uid: UInt32 = 0
            var gid: UInt32 = 0
            guard bustd_peer_credentials(fd, &pid, &uid, &gid) == 0 else {
                close(fd)
                continue
            }
            if let refusal = refusal(uid: uid) {
                close(fd)
                say(.warning, "refusing event peer", uid: uid, "refusing event peer pid \(pid) uid \(uid): \(refusal)")
                continue
            }
            let peer = EventPeer(
                fd: fd, pid: pid, uid: uid, seesAll: seesAll(pid: pid, uid: uid, gid: gid),
                nextSequence: log.nextSequence)
            peer.visibleSequence = log.visibleTotal(uid: uid)
            peer.pending = Array(helloLine(for: peer).utf8)
            peers.append(peer)
            say(
                .debug, "event peer connected", uid: uid,
                "\(peer.name) connected; it sees \(peer.seesAll ? "all events" : "its own processes' events")")
            flush(peer)
        }
    }

    private func refusal(uid: UInt32) -> String? {
        if peers.count >= EventServer.maxPeers { return "\(EventServer.maxPeers) peers already connected" }
        if uid != 0 && peers.reduce(0, { $0 + ($1.uid == uid ? 1 : 0) }) >= EventServer.maxPeersPerUser {
            return "uid \(uid) already has \(EventServer.maxPeersPerUser) connections"
        }
        return nil
    }

    private func seesAll(pid: Int32, uid: UInt32, gid: UInt32) -> Bool {
        if uid == 0 { return true }
        guard let socketGroup else { return false }
        return gid == socketGroup || UserDatabase.groups(ofProcess: pid, proc: proc).contains(socketGroup)
    }

    /// The hello: what is retained for replay, in the peer's numbering
    /// (global for all-scope peers, its user's own for the others).
    private func helloLine(for peer: EventPeer) -> String {
        var retained: ClosedRange<UInt64>?
        if peer.seesAll {
            if let oldest = log.oldestSequence, let newest = log.newestSequence { retained = oldest...newest }
        } else {
            retained = log.visibleRange(uid: peer.uid)
        }
        let hello = Event.Hello(
            daemonVersion: bustdVersion, scope: peer.seesAll ? .all : .ownUID,
            peerUID: peer.uid, retained: retained)
        // The hello is not kept; its number is that of the newest event.
        let newest = peer.seesAll ? log.nextSequence - 1 : peer.visibleSequence
        let event = Event(sequence: newest, instance: instance, timeMs: bustd_realtime_ms(), payload: .hello(hello))
        return event.encodeLine()
    }

    /// Logs a line about a peer unless that user's lines of this kind are
    /// over their rate (PeerLogLimiter).
    private func say(_ level: LogLevel, _ kind: StaticString, uid: UInt32, _ message: @autoclosure () -> String) {
        if level == .debug && !Log.verbose { return }
        guard logLimiter.allow(kind, uid: uid, nowMs: bustd_monotonic_ms(), say: { Log.notice($0) }) else { return }
        Log.write(level, message())
    }

    // MARK: Reading and writing

    private func read(from peer: EventPeer) {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { recv(peer.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count == 0 {
            // End of its input; whether it still reads shows at the next
            // write (EPIPE) or as POLLHUP.
            peer.inputClosed = true
            return
        }
        if count < 0 {
            let error = bustd_errno()
            if error != EAGAIN && error != EINTR { drop(peer, "read failed: \(errorText(error))", kind: "event peer: read failed") }
            return
        }
        for byte in buffer[0..<count] {
            peer.received += 1
            if peer.received > EventServer.maxInputBytes {
                drop(
                    peer, "it wrote more than \(EventServer.maxInputBytes) bytes (peers only listen and ask for the status)",
                    kind: "event peer: wrote too much")
                return
            }
            guard byte == 0x0A else {
                if peer.requestLine.count < EventServer.maxInputBytes { peer.requestLine.append(byte) }
                continue
            }
            let line = peer.requestLine
            peer.requestLine.removeAll(keepingCapacity: true)
            if case .status? = try? decodeClientRequest(line: line) {
                askStatus(peer, lineBytes: line.count + 1)
            } else if !peer.requestHandled {
                handleRequest(peer, line)
            }
            peer.requestHandled = true
        }
    }

    /// A status request: served unless the peer asks too often. Served
    /// requests do not count against maxInputBytes; refused ones do, so a
    /// peer that keeps asking in a loop is dropped in the end.
    private func askStatus(_ peer: EventPeer, lineBytes: Int) {
        if let waitMs = peer.statusRate.take(nowMs: bustd_monotonic_ms()) {
            say(.info, "status requests over rate", uid: peer.uid, "\(peer.name) asks for the status too often; refused")
            // One line at a time: a refusal not yet sent covers this one too.
            if peer.statusLine.isEmpty && !peer.wantsStatus {
                peer.statusLine = Array(StatusRefusal(reason: StatusRefusal.rateLimited, retryAfterMs: waitMs).encodeLine().utf8)
            }
            return
        }
        peer.received -= lineBytes
        peer.wantsStatus = true
        statusWanted = true
    }

    /// Answers the peers waiting for a status, each with what it may see
    /// (DaemonStatus.visible, with its user's own kills from killsOf):
    /// built by the monitor only when asked.
    func answerStatus(_ status: DaemonStatus, killsOf: (UInt32) -> DaemonStatus.UserKills) {
        statusWanted = false
        for peer in peers where peer.wantsStatus {
            peer.wantsStatus = false
            guard peer.dropReason == nil else { continue }
            var answer = status.visible(to: peer.uid, seesAll: peer.seesAll, own: killsOf(peer.uid))
            answer.instance = instance
            peer.statusLine = Array(answer.encodeLine().utf8)
            flush(peer)
        }
        removeDroppedPeers()
    }

    /// The first line a peer writes may ask for the events it missed:
    /// {"v":1,"type":"subscribe","since":SEQ,"instance":"..."}. Anything
    /// else is ignored (but status requests, at any time).
    private func handleRequest(_ peer: EventPeer, _ line: [UInt8]) {
        guard case .subscribe(let request)? = try? decodeClientRequest(line: line),
            let since = request.replaysFrom(daemonInstance: instance),
            let oldest = log.oldestSequence
        else { return }
        if peer.seesAll {
            let first = max(oldest, since &+ 1)
            if first < peer.nextSequence {
                peer.nextSequence = first
                say(.debug, "replaying events", uid: peer.uid, "\(peer.name) asked for events after \(since); replaying from \(first)")
            }
        } else if let resume = log.resumePoint(uid: peer.uid, since: since), resume.sequence < peer.nextSequence {
            peer.nextSequence = resume.sequence
            peer.visibleSequence = resume.visibleBefore
            say(
                .debug, "replaying events", uid: peer.uid,
                "\(peer.name) asked for events after \(since); replaying from \(resume.visibleBefore + 1)")
        }
        flush(peer)
    }

    /// Writes what the peer may see, until the socket would block.
    private func flush(_ peer: EventPeer) {
        // A peer whose socket is full gets no further than its pending line
        // until it reads: drop it as soon as the log has moved past it, not
        // when it reads again, so a peer that never reads does not hold its
        // place (and its cursor) for ever.
        if let oldest = log.oldestSequence, peer.nextSequence < oldest {
            drop(peer, "it stopped reading and missed events \(peer.nextSequence) and later", kind: "event peer: stopped reading")
            return
        }
        while peer.dropReason == nil {
            if peer.pendingOffset >= peer.pending.count {
                peer.pending.removeAll(keepingCapacity: true)
                peer.pendingOffset = 0
                // A status answer goes before the next event.
                if !peer.statusLine.isEmpty {
                    swap(&peer.pending, &peer.statusLine)
                    continue
                }
                guard peer.nextSequence < log.nextSequence else { return }
                guard let event = log.event(peer.nextSequence) else {
                    drop(peer, "it stopped reading and missed events \(peer.nextSequence) and later", kind: "event peer: stopped reading")
                    return
                }
                peer.nextSequence += 1
                guard let line = line(event, for: peer) else { continue }
                peer.pending = line
            }
            let count = peer.pending.withUnsafeBytes { bytes in
                send(
                    peer.fd, bytes.baseAddress! + peer.pendingOffset, bytes.count - peer.pendingOffset,
                    Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if count < 0 {
                let error = bustd_errno()
                if error == EAGAIN || error == EINTR { return }
                drop(
                    peer, error == EPIPE || error == ECONNRESET ? nil : "write failed: \(errorText(error))",
                    kind: "event peer: write failed")
                return
            }
            peer.pendingOffset += count
        }
    }

    /// Marks a peer for removal; a nil reason is an ordinary hang-up.
    /// kind: the log limit's key with the uid (PeerLogLimiter), one per
    /// reason, so one kind of drop cannot hide another's line.
    private func drop(_ peer: EventPeer, _ reason: String?, kind: StaticString = "event peer disconnected") {
        guard peer.dropReason == nil else { return }
        peer.dropReason = reason ?? ""
        if let reason {
            peersDropped += 1
            say(.info, kind, uid: peer.uid, "dropping \(peer.name): \(reason)")
        } else {
            say(.debug, "event peer disconnected", uid: peer.uid, "\(peer.name) disconnected")
        }
    }

    private func removeDroppedPeers() {
        guard peers.contains(where: { $0.dropReason != nil }) else { return }
        for peer in peers where peer.dropReason != nil { close(peer.fd) }
        peers.removeAll { $0.dropReason != nil }
    }
}

/// "/run/bustd/bustd.sock" → "/run/bustd"; "bustd.sock" → ".".
func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let parent = String(path[..<slash])
    return parent.isEmpty ? "/" : parent
}
