/// The fields of /proc/PID/stat that bustd uses.
struct ProcessStat: Equatable {
    /// comm, up to 15 bytes, as the kernel keeps it: any bytes but NUL.
    var name: [UInt8]
    /// R, S, D, Z (zombie), X (dead), T, t, I...
    var state: UInt8
    var parentPID: Int32
    var processGroup: Int32
    /// PF_* flags; PF_KTHREAD marks kernel threads.
    var flags: UInt64
    /// Clock ticks since boot: with the pid, the identity of a process.
    var startTime: UInt64
    var residentPages: Int64

    static let kernelThreadFlag: UInt64 = 0x0020_0000  // PF_KTHREAD

    var isZombie: Bool { state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") || state == UInt8(ascii: "x") }
    var isKernelThread: Bool { flags & ProcessStat.kernelThreadFlag != 0 || parentPID == 2 }
}

/// Parses a /proc/PID/stat line. The name sits between the first `(` and
/// the LAST `)`: it may itself hold spaces, parentheses, newlines or a
/// lone `Z`, so nothing after the first `(` is trusted until the last `)`.
func parseProcessStat(_ bytes: UnsafeBufferPointer<UInt8>) -> ProcessStat? {
    guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
        let close = bytes.lastIndex(of: UInt8(ascii: ")")), close > open
    else { return nil }
    let name = Array(bytes[(open + 1)..<close])

    // Fields after the name, 0-based: 0 state, 1 ppid, 2 pgrp, 6 flags,
    // 19 starttime, 21 rss (stat(5) numbers them 3, 4, 5, 9, 22, 24).
    var state: UInt8 = 0
    var numbers = [UInt64](repeating: 0, count: 22)
    var negativeField = [Bool](repeating: false, count: 22)
    var field = -1
    var index = close + 1
    while index < bytes.count && field < 21 {
        while index < bytes.count && bytes[index] == 0x20 { index += 1 }
        guard index < bytes.count else { break }
        field += 1
        if field == 0 {
            state = bytes[index]
            index += 1
            continue
        }
        var value: UInt64 = 0
        if bytes[index] == UInt8(ascii: "-") {
            negativeField[field] = true
            index += 1
        }
        var digits = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            value = value &* 10 &+ UInt64(bytes[index] - 0x30)
            index += 1
            digits += 1
        }
        guard digits > 0 else { return nil }
        numbers[field] = value
    }
    guard field >= 21, state != 0 else { return nil }
    func signed(_ field: Int) -> Int64 {
        let value = Int64(truncatingIfNeeded: numbers[field])
        return negativeField[field] ? -value : value
    }
    return ProcessStat(
        name: name,
        state: state,
        parentPID: Int32(truncatingIfNeeded: signed(1)),
        processGroup: Int32(truncatingIfNeeded: signed(2)),
        flags: numbers[6],
        startTime: numbers[19],
        residentPages: signed(21))
}
