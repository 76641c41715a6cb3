import Shared

/// A SIGTERM and a SIGKILL threshold in KiB (-M, -S).
struct SizeThresholds: Equatable {
    var terminate: Int64
    var kill: Int64
}

/// The largest size accepted, in KiB (1 PiB): far above any machine's RAM,
/// and low enough that the rules may double it without overflow.
let maximumSizeKiB: Int64 = 1 << 40

/// "SIZE" or "SIZE,KILL_SIZE", each in KiB or with a K, M, G or T suffix
/// (powers of 1024, either case). KILL_SIZE defaults to half of SIZE and may
/// not exceed it, as with the percentages.
func parseSizeThresholds(_ text: String, option: String) throws(OptionError) -> SizeThresholds {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    guard parts.count == 1 || parts.count == 2 else {
        throw OptionError("invalid value \(quotedArgument(text)) for \(option): expected SIZE or SIZE,KILL_SIZE")
    }
    let terminate = try parseSize(parts[0], option: option, what: "a size")
    var kill = terminate / 2
    if parts.count == 2 {
        kill = try parseSize(parts[1], option: option, what: "a SIGKILL size")
        guard kill <= terminate else {
            throw OptionError(
                "invalid value \(quotedArgument(text)) for \(option): the SIGKILL size (\(formatKiB(kill))) is above the SIGTERM size (\(formatKiB(terminate)))"
            )
        }
    }
    return SizeThresholds(terminate: terminate, kill: kill)
}

/// A whole number of KiB, or of KiB, MiB, GiB or TiB with a suffix: "512M".
/// No sign, space, fraction or other suffix; at most maximumSizeKiB.
func parseSize(_ text: Substring, option: String, what: String) throws(OptionError) -> Int64 {
    let invalid = OptionError(
        "invalid value \(quotedArgument(String(text))) for \(option): expected \(what) in KiB, or with a K, M, G or T suffix (e.g. 512M), at most 1024T"
    )
    var digits = text.utf8[...]
    var shift: Int64 = 0
    let suffixes: [(UInt8, Int64)] = [(UInt8(ascii: "k"), 0), (UInt8(ascii: "m"), 10), (UInt8(ascii: "g"), 20), (UInt8(ascii: "t"), 30)]
    // ASCII letters only: | 0x20 lowers a capital, and leaves a digit a digit.
    if let last = digits.last, let suffix = suffixes.first(where: { $0.0 == last | 0x20 }) {
        shift = suffix.1
        digits = digits.dropLast()
    }
    guard !digits.isEmpty else { throw invalid }
    var value: Int64 = 0
    for byte in digits {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw invalid }
        value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        // Checked at every digit, so the product never overflows.
        guard value <= maximumSizeKiB else { throw invalid }
    }
    guard value <= maximumSizeKiB >> shift else { throw invalid }
    return value << shift
}
