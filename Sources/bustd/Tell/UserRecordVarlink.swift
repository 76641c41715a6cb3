import Shared

// systemd's userdb speaks varlink: JSON objects ending in a NUL byte over a
// stream socket. io.systemd.Multiplexer answers for every source systemd
// knows (the files, NSS modules such as LDAP or sssd, homed), and a static
// binary can ask it where getpwuid(3) could not.

/// What bustd asks userdb: a user by uid, a group by name or by gid.
enum UserRecordQuery: Equatable {
    case user(uid: UInt32)
    case groupNamed(String)
    case groupID(UInt32)

    static let service = "io.systemd.Multiplexer"

    /// The call, NUL included, ready to send.
    var request: [UInt8] {
        let method: String
        let key: String
        switch self {
        case .user(let uid):
            method = "GetUserRecord"
            key = "\"uid\":\(uid)"
        case .groupNamed(let name):
            method = "GetGroupRecord"
            key = "\"groupName\":\"\(jsonEscaped(name))\""
        case .groupID(let gid):
            method = "GetGroupRecord"
            key = "\"gid\":\(gid)"
        }
        let text =
            "{\"method\":\"io.systemd.UserDatabase.\(method)\",\"parameters\":{\(key),\"service\":\"\(UserRecordQuery.service)\"}}"
        return Array(text.utf8) + [0]
    }

    /// The record's name and id members for this kind of query.
    fileprivate var members: (name: String, id: String) {
        switch self {
        case .user: ("userName", "uid")
        case .groupNamed, .groupID: ("groupName", "gid")
        }
    }
}

/// userdb's answer, reduced to what bustd uses.
enum UserRecordReply: Equatable {
    case found(name: String, id: UInt32)
    /// io.systemd.UserDatabase.NoRecordFound: no source knows it.
    case noRecord
    /// Any other error, or a reply bustd does not accept (why, for the log).
    case failed(String)
}

/// Longest name accepted from a record: useradd allows 32 bytes, systemd
/// 256; anything longer is not a name bustd puts in its events.
let maxUserRecordNameBytes = 256

/// Reads a reply (without its NUL) to query. The service may be anything
/// that managed to bind the socket, so the reply is parsed as hostile: the
/// event parser's bounds, a record that must answer the question asked, and
/// a name without control characters.
func parseUserRecordReply(_ reply: [UInt8], to query: UserRecordQuery) -> UserRecordReply {
    let message: JSONObject
    do {
        message = try JSONObject(parsing: reply)
    } catch {
        return .failed(error.message)
    }
    if let error = message.string("error") {
        return error == "io.systemd.UserDatabase.NoRecordFound" ? .noRecord : .failed("userdb error " + quoted(error))
    }
    if message.contains("error") { return .failed("an error that is not a string") }
    guard let record = message.object("parameters")?.object("record") else { return .failed("no record in the reply") }
    let members = query.members
    guard let name = record.string(members.name), let id = record.uint32(members.id) else {
        return .failed("the record has no \(members.name) or \(members.id)")
    }
    let answersTheQuestion: Bool
    switch query {
    case .user(let uid): answersTheQuestion = id == uid
    case .groupID(let gid): answersTheQuestion = id == gid
    case .groupNamed(let asked): answersTheQuestion = name == asked
    }
    guard answersTheQuestion else { return .failed("the record is about another \(members.id == "uid" ? "user" : "group")") }
    let bytes = Array(name.utf8)
    guard !bytes.isEmpty, bytes.count <= maxUserRecordNameBytes, !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
        return .failed("the record's name is empty, too long or holds control characters")
    }
    return .found(name: name, id: id)
}
