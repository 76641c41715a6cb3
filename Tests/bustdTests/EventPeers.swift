import Foundation

/// Python clients of bustd's event socket, each run as its own process
/// (and, with setpriv, as another user).
enum EventPeers {
    static let script = #"""
        import json, os, random, resource, select, socket, sys, time
        mode, path, out, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
        extra = sys.argv[5] if len(sys.argv) > 5 else ""
        end = time.time() + seconds

        def connect():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s

        def receive_lines(s):
            """(arrival time, line) for each line received until the end or EOF."""
            s.settimeout(0.2)
            data, lines = b"", []
            while time.time() < end:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                data += chunk
                while b"\n" in data:
                    line, data = data.split(b"\n", 1)
                    lines.append((time.time(), line))
            return lines

        if mode == "listen":
            s = connect()
            if extra:
                s.sendall(json.dumps({"v": 1, "type": "subscribe", "since": int(extra)}).encode() + b"\n")
            lines = [{"t": t, "line": line.decode("utf-8", "replace")} for t, line in receive_lines(s)]
            json.dump(lines, open(out, "w"))
        elif mode == "many":
            # COUNT connections that read every line, until the end or until OUT.stop exists.
            count = int(extra)
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
            socks = [connect() for _ in range(count)]
            poller = select.poll()
            for s in socks:
                s.setblocking(False)
                poller.register(s, select.POLLIN)
            by_fd = {s.fileno(): i for i, s in enumerate(socks)}
            buffers = [b""] * count
            arrivals = [dict() for _ in range(count)]
            hellos = [0] * count
            closed = [False] * count
            open(out + ".ready", "w").write("ready")
            while time.time() < end and not os.path.exists(out + ".stop"):
                for fd, ev in poller.poll(100):
                    i = by_fd[fd]
                    try:
                        chunk = socks[i].recv(65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        closed[i] = True
                        poller.unregister(fd)
                        continue
                    buffers[i] += chunk
                    while b"\n" in buffers[i]:
                        line, buffers[i] = buffers[i].split(b"\n", 1)
                        event = json.loads(line)
                        if event["type"] == "hello":
                            hellos[i] += 1
                        else:
                            arrivals[i][str(event["seq"])] = time.time()
            json.dump({"hellos": hellos, "closed": closed, "arrivals": arrivals}, open(out, "w"))
        elif mode == "garbage":
            s = connect()
            sent, dropped = 0, False
            while time.time() < end and not dropped:
                try:
                    s.sendall(bytes(random.getrandbits(8) for _ in range(512)))
                    sent += 512
                    time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    dropped = True
            json.dump({"sent": sent, "dropped": dropped}, open(out, "w"))
        elif mode == "halfclose":
            # Shuts down its writing side, as `socat -u` does, then keeps reading.
            s = connect()
            s.shutdown(socket.SHUT_WR)
            json.dump({"lines": len(receive_lines(s))}, open(out, "w"))
        elif mode == "noread":
            # Never reads while connected: waits for bustd to hang up (POLLHUP
            # comes without a read), then reads what is left to the end.
            s = connect()
            start = time.time()
            poller = select.poll()
            poller.register(s, select.POLLHUP)
            hup_after = None
            while time.time() < end and hup_after is None:
                if any(ev & select.POLLHUP for _, ev in poller.poll(100)):
                    hup_after = time.time() - start
            ended = None
            if hup_after is not None:
                s.settimeout(5)
                try:
                    while s.recv(65536):
                        pass
                    ended = "eof"
                except ConnectionResetError:
                    ended = "reset"
                except socket.timeout:
                    ended = "timeout"
            json.dump({"hup_after": hup_after, "ended": ended}, open(out, "w"))
        elif mode == "flood":
            # Connections one after another, each writing more than a peer may.
            count, dropped = int(extra), 0
            for _ in range(count):
                s = connect()
                try:
                    s.sendall(b"x" * 5000)
                    s.settimeout(2)
                    while s.recv(65536):
                        pass
                    dropped += 1
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    dropped += 1
                s.close()
            json.dump({"dropped": dropped}, open(out, "w"))
        elif mode == "halfline":
            for _ in range(50):
                s = connect()
                s.sendall(b'{"v":1,"type":"subscr')
                s.close()
            json.dump({"ok": True}, open(out, "w"))
        """#

    /// Starts a peer; its result lands in the returned file when it exits.
    static func start(_ mode: String, socket: String, seconds: Double, extra: String = "", asUser uid: UInt32? = nil) throws -> (
        Child, String
    ) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(mode)-\(UUID()).json").path
        let user = uid.map { "/usr/bin/setpriv --reuid=\($0) --regid=\($0) --clear-groups " } ?? ""
        let quotedScript = script.replacingOccurrences(of: "'", with: "'\\''")
        let child = try Child("\(user)\(Harness.python) -c '\(quotedScript)' \(mode) \(socket) \(out) \(seconds) \(extra)")
        return (child, out)
    }

    /// The decoded JSON lines a "listen" peer received.
    static func lines(_ out: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let records = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return try records.map { record in
            let line = (record["line"] as? String ?? "").data(using: .utf8)!
            return try JSONSerialization.jsonObject(with: line) as? [String: Any] ?? [:]
        }
    }

    static func json(_ out: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any] ?? [:]
    }
}
