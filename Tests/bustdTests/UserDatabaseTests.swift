import Foundation
import Testing

@testable import bustd

/// Names from systemd's userdb over varlink: the request, the hostile
/// reply, the socket's checks, the timeout, numeric gids and the cache.
@Suite struct UserDatabaseTests {
    // MARK: Request

    @Test func requestsAreVarlinkCallsEndingInNUL() {
        #expect(
            UserRecordQuery.user(uid: 4242).request
                == Array(
                    #"{"method":"io.systemd.UserDatabase.GetUserRecord","parameters":{"uid":4242,"service":"io.systemd.Multiplexer"}}"#
                        .utf8) + [0])
        #expect(
            UserRecordQuery.groupID(977).request
                == Array(
                    #"{"method":"io.systemd.UserDatabase.GetGroupRecord","parameters":{"gid":977,"service":"io.systemd.Multiplexer"}}"#
                        .utf8) + [0])
        // A name from the command line is escaped, never spliced in raw.
        #expect(
            UserRecordQuery.groupNamed("a\"b\\c\n").request
                == Array(
                    #"{"method":"io.systemd.UserDatabase.GetGroupRecord","parameters":{"groupName":"a\"b\\c\n","service":"io.systemd.Multiplexer"}}"#
                        .utf8) + [0])
    }

    // MARK: Reply

    func parse(_ text: String, _ query: UserRecordQuery = .user(uid: 4242)) -> UserRecordReply {
        parseUserRecordReply(Array(text.utf8), to: query)
    }

    func failed(_ reply: UserRecordReply) -> Bool {
        if case .failed = reply { return true }
        return false
    }

    @Test func aRecordFoundGivesItsName() {
        let reply =
            #"{"parameters":{"record":{"userName":"ldapuser","uid":4242,"memberOf":["a","b"],"privileged":{"hashedPassword":["x"]}},"incomplete":false}}"#
        #expect(parse(reply) == .found(name: "ldapuser", id: 4242))
        #expect(
            parse(#"{"parameters":{"record":{"groupName":"ops","gid":977}}}"#, .groupNamed("ops")) == .found(name: "ops", id: 977))
        #expect(parse(#"{"parameters":{"record":{"groupName":"ops","gid":977}}}"#, .groupID(977)) == .found(name: "ops", id: 977))
    }

    @Test func noRecordFoundAndOtherErrors() {
        #expect(parse(#"{"error":"io.systemd.UserDatabase.NoRecordFound","parameters":{}}"#) == .noRecord)
        #expect(failed(parse(#"{"error":"io.systemd.UserDatabase.ServiceNotAvailable"}"#)))
        #expect(failed(parse(#"{"error":42}"#)))
    }

    @Test func garbageTruncatedAndOversizedRepliesAreRefused() {
        #expect(failed(parse("")))
        #expect(failed(parse("garbage \u{1}\u{2}")))
        #expect(failed(parseUserRecordReply([0xFF, 0xFE, 0x7B], to: .user(uid: 1))))
        let whole = #"{"parameters":{"record":{"userName":"ldapuser","uid":4242}}}"#
        for length in 0..<whole.utf8.count {
            #expect(failed(parseUserRecordReply(Array(whole.utf8.prefix(length)), to: .user(uid: 4242))), "prefix \(length)")
        }
        let padding = String(repeating: " ", count: UserDatabaseSocket.maxReplyBytes)
        #expect(failed(parse(whole + padding)))
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"x","uid":4242,"deep":\#(deep)}}}"#)))
    }

    @Test func theRecordMustAnswerTheQuestionWithAUsableName() {
        // Another user's record, a uid that is text, negative or too large.
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"root","uid":0}}}"#)))
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"x","uid":"4242"}}}"#)))
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"x","uid":-4242}}}"#)))
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"x","uid":4294971538}}}"#)))
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"x","uid":4242.0}}}"#)))
        #expect(failed(parse(#"{"parameters":{"record":{"groupName":"ops","gid":1}}}"#, .groupNamed("staff"))))
        #expect(failed(parse(#"{"parameters":{"record":"ldapuser"}}"#)))
        #expect(failed(parse(#"{"parameters":{"record":{"uid":4242}}}"#)))
        // Escapes are resolved; control characters and empty or huge names are refused.
        #expect(parse(#"{"parameters":{"record":{"userName":"ren\u00e9\/x","uid":4242}}}"#) == .found(name: "rené/x", id: 4242))
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"evil\nline","uid":4242}}}"#)))
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"nul\u0000","uid":4242}}}"#)))
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"","uid":4242}}}"#)))
        let long = String(repeating: "a", count: maxUserRecordNameBytes + 1)
        #expect(failed(parse(#"{"parameters":{"record":{"userName":"\#(long)","uid":4242}}}"#)))
    }

    // MARK: Numeric gids

    @Test func aNumericGroupIsItsOwnGid() throws {
        #expect(UserDatabase.groupID(named: "4242", userdb: "/nonexistent", group: "/nonexistent") == 4242)
        #expect(UserDatabase.groupID(named: "0", userdb: "/nonexistent", group: "/nonexistent") == 0)
        #expect(UserDatabase.groupID(named: "4294967295", userdb: "/nonexistent", group: "/nonexistent") == 4_294_967_295)
        for notANumber in ["4294967296", "-1", "12a", "+5", " 7", ""] {
            #expect(UserDatabase.groupID(named: notANumber, userdb: "/nonexistent", group: "/nonexistent") == nil, "\(notANumber)")
        }
    }

    // MARK: Cache

    final class Calls: @unchecked Sendable { var uids: [UInt32] = [] }

    @Test func theCacheRemembersForItsTTLNamesAndUnknownsAlike() {
        let calls = Calls()
        let cache = UserNameCache(capacity: 4, ttlMs: 60_000) { uid in
            calls.uids.append(uid)
            return uid == 1 ? "one" : nil
        }
        #expect(cache.name(uid: 1, nowMs: 0) == "one")
        #expect(cache.name(uid: 1, nowMs: 59_999) == "one")
        #expect(cache.name(uid: 2, nowMs: 10) == nil)
        #expect(cache.name(uid: 2, nowMs: 20) == nil)
        #expect(calls.uids == [1, 2])
        #expect(cache.name(uid: 1, nowMs: 60_000) == "one")
        #expect(calls.uids == [1, 2, 1])
    }

    @Test func theCacheIsBounded() {
        let calls = Calls()
        let cache = UserNameCache(capacity: 4, ttlMs: 60_000) { uid in
            calls.uids.append(uid)
            return "u\(uid)"
        }
        for uid in UInt32(0)..<1000 { _ = cache.name(uid: uid, nowMs: Int64(uid)) }
        #expect(cache.count == 4)
        // The newest are kept, the oldest went first.
        calls.uids.removeAll()
        for uid in UInt32(996)..<1000 { #expect(cache.name(uid: uid, nowMs: 1000) == "u\(uid)") }
        #expect(calls.uids.isEmpty)
        #expect(cache.name(uid: 0, nowMs: 1000) == "u0")
        #expect(calls.uids == [0])
        #expect(cache.count == 4)
    }

    // MARK: The socket

    @Test(.needsRoot) func onlyARootSocketInRootDirectoriesIsTrusted() throws {
        let userdb = try FakeUserdb(.answer([:]))
        defer { userdb.close() }
        #expect(UserDatabaseSocket.isTrusted(userdb.path))
        #expect(!UserDatabaseSocket.isTrusted("relative/io.systemd.Multiplexer"))
        #expect(!UserDatabaseSocket.isTrusted(userdb.directory + "/missing"))
        #expect(!UserDatabaseSocket.isTrusted(userdb.directory))  // a directory, not a socket

        let link = userdb.directory + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: userdb.path)
        #expect(!UserDatabaseSocket.isTrusted(link))
        let linkedDirectory = userdb.directory + "-link"
        try FileManager.default.createSymbolicLink(atPath: linkedDirectory, withDestinationPath: userdb.directory)
        defer { try? FileManager.default.removeItem(atPath: linkedDirectory) }
        #expect(!UserDatabaseSocket.isTrusted(linkedDirectory + "/io.systemd.Multiplexer"))

        chmod(userdb.directory, 0o777)
        #expect(!UserDatabaseSocket.isTrusted(userdb.path))
        chmod(userdb.directory, 0o1777)
        #expect(UserDatabaseSocket.isTrusted(userdb.path))
        chown(userdb.directory, 1001, 1001)
        #expect(!UserDatabaseSocket.isTrusted(userdb.path))
        chown(userdb.directory, 0, 0)
        chmod(userdb.directory, 0o755)
        chown(userdb.path, 1001, 1001)
        #expect(!UserDatabaseSocket.isTrusted(userdb.path))
        #expect(UserDatabase.userName(uid: 0, userdb: userdb.path, passwd: "/nonexistent") == nil)
        #expect(userdb.requests.isEmpty, "asked a socket that failed the checks")
    }

    @Test(.needsRoot) func namesComeFromUserdbThenTheFiles() throws {
        let userdb = try FakeUserdb(.answer([4242: "ldapuser", 1000: "fromuserdb"]))
        defer { userdb.close() }
        let passwd = FileManager.default.temporaryDirectory.appendingPathComponent("passwd-\(UUID())").path
        try "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n".write(
            toFile: passwd, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: passwd) }
        #expect(UserDatabase.userName(uid: 4242, userdb: userdb.path, passwd: passwd) == "ldapuser")
        #expect(UserDatabaseSocket.ask(.user(uid: 1000), path: userdb.path) == .found(name: "fromuserdb", id: 1000))
        #expect(UserDatabase.userName(uid: 1000, userdb: userdb.path, passwd: passwd) == "fromuserdb")
        #expect(UserDatabase.userName(uid: 1001, userdb: userdb.path, passwd: passwd) == "bob")
        #expect(UserDatabase.userName(uid: 4242, userdb: "/nonexistent", passwd: passwd) == nil)
        #expect(userdb.requests.count == 4)
        #expect(userdb.requests.first?.contains(#""uid":4242"#) == true)
    }

    @Test(.needsRoot) func aUserdbThatNeverAnswersCostsAtMostTheTimeout() throws {
        let userdb = try FakeUserdb(.neverAnswer)
        defer { userdb.close() }
        let clock = ContinuousClock()
        var reply: UserRecordReply?
        let elapsed = clock.measure { reply = UserDatabaseSocket.ask(.user(uid: 4242), path: userdb.path) }
        guard case .failed(let why)? = reply else {
            Issue.record("\(String(describing: reply))")
            return
        }
        #expect(why.contains("timed out"), "\(why)")
        let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        print("a userdb that never answers: the lookup gave up after \(Int(ms)) ms (timeout \(UserDatabaseSocket.timeoutMs) ms)")
        #expect(ms >= Double(UserDatabaseSocket.timeoutMs) - 5)
        #expect(ms < Double(UserDatabaseSocket.timeoutMs) + 150)
    }

    @Test(.needsRoot) func anOversizedReplyIsRefusedWithoutReadingOn() throws {
        let userdb = try FakeUserdb(.raw(Array(repeating: UInt8(ascii: " "), count: 200_000)))
        defer { userdb.close() }
        guard case .failed(let why)? = UserDatabaseSocket.ask(.user(uid: 4242), path: userdb.path) else {
            Issue.record("an oversized reply was accepted")
            return
        }
        #expect(why.contains("too long"), "\(why)")
    }
}
