import Foundation
import Testing

/// The running daemon's metrics file (checked by promtool and scraped by a
/// real node_exporter), the example alert rules, and the STATUS= line it
/// sends to a NOTIFY_SOCKET the test listens on.
@Suite(.serialized) struct MonitoringIntegrationTests {
    /// The repository's root (this file is Tests/bustdTests/…).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func metricsDirectory() -> String {
        let path = Harness.privatePath("-prom")
        mkdir(path, 0o755)
        return path
    }

    /// Waits until the file exists and holds every one of the lines.
    static func waitForMetrics(_ path: String, timeout: TimeInterval = 20, containing lines: [String]) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var text = ""
        repeat {
            text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let samples = Set(text.split(separator: "\n").map(String.init))
            if lines.allSatisfy({ samples.contains($0) }) { return text }
            usleep(50_000)
        } while Date() < deadline
        throw HarnessError("\(path) never held \(lines) within \(timeout) s; it holds:\n\(text)")
    }

    static func sample(_ name: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }

    /// A confined kill (as KillIntegrationTests): the counters say it.
    @Test(.needsRoot, .needsPromtool) func aConfinedKillIsCounted() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let small = try Child.hog("bm-small", mb: 8, cgroup: cgroup)
        let hog = try Child.hog("bm-hog", mb: 64, cgroup: cgroup)
        try cgroup.limitSoThatAvailableIs(percent: KillIntegrationTests.leftPercent)
        let metrics = Self.metricsDirectory() + "/bustd.prom"
        let run = try DaemonRun([
            "-n", "--scope", cgroup.path, "-m", "40", "-s", "100", "--grace", "10",
            "--pidfile", Harness.privatePath(".pid"), "--metrics-file", metrics,
        ])
        try run.waitForLine(containing: "killing pid")
        #expect(hog.waitForSignal() == SIGTERM)
        try run.waitForLine(containing: "exited")
        // Written after the event, not at the next 15 s write.
        let text = try Self.waitForMetrics(
            metrics, timeout: 5,
            containing: [
                #"bustd_kills_total{rule="low-memory",signal="SIGTERM"} 1"#,
                #"bustd_kills_total{rule="low-memory",signal="SIGKILL"} 0"#,
                "bustd_kill_failures_total 0",
            ])
        let lastKill = try #require(Self.sample("bustd_last_kill_time_seconds", in: text))
        #expect(abs(lastKill - Date().timeIntervalSince1970) < 30, "last kill at \(lastKill)")
        // The scope's figures: its limit, not the machine's RAM.
        let total = try #require(Self.sample("bustd_memory_total_bytes", in: text))
        #expect(total < 1024 * 1024 * 1024, "\(total)")
        #expect(try #require(Self.sample("bustd_resident_memory_bytes", in: text)) > 0)
        let check = try Promtool.run(["check", "metrics"], input: text)
        #expect(check.status == 0, "\(check.output)")
        #expect(small.isRunning)
        #expect(run.stop() == 0)
        // No temporary file left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: (metrics as NSString).deletingLastPathComponent) == ["bustd.prom"])
    }

    /// node_exporter's textfile collector reads the file a dry run writes,
    /// and serves bustd's series on /metrics.
    @Test(.needsPromtool) func nodeExporterServesTheSeries() throws {
        let exporter = try #require(
            ["/usr/bin/prometheus-node-exporter", "/usr/local/bin/node_exporter"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            }, "node_exporter is not installed (apt-get install prometheus-node-exporter)")
        let directory = Self.metricsDirectory()
        let run = try DaemonRun(["-n", "--dry-run", "-m", "2", "--metrics-file", directory + "/bustd.prom"])
        _ = try Self.waitForMetrics(directory + "/bustd.prom", containing: ["bustd_kill_failures_total 0"])
        let port = try freeLocalPort()
        let node = Process()
        node.executableURL = URL(fileURLWithPath: exporter)
        node.arguments = [
            "--collector.disable-defaults", "--collector.textfile", "--collector.textfile.directory=\(directory)",
            "--web.listen-address=127.0.0.1:\(port)",
        ]
        node.standardOutput = FileHandle.nullDevice
        node.standardError = FileHandle.nullDevice
        try node.run()
        defer {
            node.terminate()
            node.waitUntilExit()
        }
        var scraped = ""
        for _ in 0..<100 where !scraped.contains("bustd_kills_total") {
            scraped = httpGet("http://127.0.0.1:\(port)/metrics")
            usleep(100_000)
        }
        let lines = scraped.split(separator: "\n").map(String.init)
        #expect(lines.contains(#"bustd_kills_total{rule="low-memory",signal="SIGTERM"} 0"#), "\(scraped)")
        #expect(lines.contains { $0.hasPrefix("bustd_memory_available_bytes ") })
        #expect(lines.contains(#"bustd_threshold_ratio{resource="memory",signal="SIGTERM"} 0.02"#))
        // The collector found no error in the file.
        #expect(lines.contains("node_textfile_scrape_error 0"), "\(scraped)")
        #expect(run.stop() == 0)
    }

    /// A peer dropped for writing garbage on the event socket is counted,
    /// and the file rewritten for it.
    @Test func aDroppedEventPeerIsCounted() throws {
        let directory = Self.metricsDirectory()
        let socket = directory + "/bustd.sock"
        let run = try DaemonRun(["-n", "--dry-run", "-m", "2", "--socket", socket, "--metrics-file", directory + "/bustd.prom"])
        try run.waitForLine(containing: "publishing events on")
        _ = try Self.waitForMetrics(directory + "/bustd.prom", containing: ["bustd_event_peers_dropped_total 0"])
        let (garbage, _) = try EventPeers.start("garbage", socket: socket, seconds: 5)
        try run.waitForLine(containing: "dropping")
        _ = try Self.waitForMetrics(directory + "/bustd.prom", timeout: 5, containing: ["bustd_event_peers_dropped_total 1"])
        garbage.process.waitUntilExit()
        #expect(run.stop() == 0)
    }

    @Test(.needsPromtool) func theExampleAlertRulesAreValidAndFire() throws {
        let check = try Promtool.run(["check", "rules", Self.root + "/dist/bustd-alerts.yml"])
        #expect(check.status == 0, "\(check.output)")
        let test = try Promtool.run(["test", "rules", Self.root + "/Tests/promtool/bustd-alerts-test.yml"])
        #expect(test.status == 0, "\(test.output)")
    }

    /// The daemon refuses, before it starts, a metrics path it must not write.
    @Test func refusesAnUnsafeMetricsPath() throws {
        let directory = Self.metricsDirectory()
        symlink("/etc/passwd", directory + "/bustd.prom")
        let linked = try DaemonRun(["-n", "--dry-run", "--metrics-file", directory + "/bustd.prom"])
        #expect(linked.waitForExit() == 1)
        #expect(linked.log.contains("not a regular file"), "\(linked.log)")
        let open = Self.metricsDirectory()
        chmod(open, 0o777)
        let shared = try DaemonRun(["-n", "--dry-run", "--metrics-file", open + "/bustd.prom"])
        #expect(shared.waitForExit() == 1)
        #expect(shared.log.contains("writable by others"), "\(shared.log)")
    }

    /// READY=1 with a STATUS= line, then STATUS= lines, never two within a
    /// second (measured where they arrive, as systemd would); a dry run's
    /// decision is named in it. On the whole machine, so that the first
    /// look also makes the kill path ready (a slow look).
    @Test func statusLineToNotifySocket() throws {
        let socket = try DatagramListener(path: Harness.privatePath(".notify"))
        let hog = try Child.hog("bm-status", mb: 16, cgroup: nil, oomScoreAdj: 1000)
        let run = try DaemonRun(
            ["-n", "--dry-run", "-m", "100,100", "-s", "100", "--cooldown", "0.2", "--prefer", "^bm-status$"],
            environment: ["NOTIFY_SOCKET": socket.path])
        var received = socket.receive(for: 4.5)
        #expect(run.stop() == 0)
        received += socket.receive(for: 0.3)
        let texts = received.map(\.text)
        #expect(texts.first?.hasPrefix("READY=1\nSTATUS=critical: ") == true, "\(texts)")
        let statuses = received.filter { $0.text.contains("STATUS=") }
        #expect(
            statuses.contains {
                $0.text.hasSuffix("% available, dry run: would have killed bm-status (pid \(hog.pid)) less than a minute ago")
            },
            "\(texts)")
        for (earlier, later) in zip(statuses, statuses.dropFirst()) {
            #expect(later.time.timeIntervalSince(earlier.time) >= 0.97, "\(received)")
        }
        #expect(texts.last == "STOPPING=1")
    }

    /// While memory is fine, one STATUS= line and no more.
    @Test func quietWhileMemoryIsFine() throws {
        let socket = try DatagramListener(path: Harness.privatePath(".notify"))
        let run = try DaemonRun(["-n", "--dry-run", "-m", "1"], environment: ["NOTIFY_SOCKET": socket.path])
        let received = socket.receive(for: 3)
        #expect(run.stop() == 0)
        let texts = received.map(\.text)
        #expect(texts.first.map { $0.hasPrefix("READY=1\nSTATUS=ok: ") && $0.hasSuffix("% available") } == true, "\(texts)")
        // The line READY=1 carried; a figure alone would change it at most every 5 s.
        #expect(texts.filter { $0.contains("STATUS=") }.count <= 1, "\(texts)")
    }
}

/// A port nothing listens on now (bound, then released).
func freeLocalPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    try #require(bound == 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The body of a plain HTTP GET on localhost (python's urllib), or "".
func httpGet(_ url: String) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Harness.python.hasPrefix("/") ? Harness.python : "/usr/bin/python3")
    process.arguments = [
        "-c", "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())", url,
    ]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return "" }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// A datagram socket bound where NOTIFY_SOCKET points: what systemd sees.
final class DatagramListener {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in path.utf8.enumerated() where index < bytes.count - 1 { bytes[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw HarnessError("cannot bind \(path): errno \(errno)") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Everything sent in the next `seconds`, with when it arrived.
    func receive(for seconds: TimeInterval) -> [(time: Date, text: String)] {
        var received: [(time: Date, text: String)] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { received.append((Date(), String(decoding: buffer[0..<count], as: UTF8.self))) }
        }
        return received
    }
}
