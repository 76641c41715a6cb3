// Decimal numbers as integer hundredths. Embedded Swift has no
// Double(String) and cannot print floating point, and every figure bustd
// handles (percentages, PSI averages, seconds) needs two decimals at most.

/// Parses "12", "12.5", "0.25" (up to two decimals, no sign, no exponent)
/// into hundredths. Returns nil for anything else.
public func parseHundredths<S: StringProtocol>(_ text: S) -> Int? {
    var whole = 0
    var fraction = 0
    var fractionDigits = 0
    var sawDigit = false
    var inFraction = false
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            sawDigit = true
            let digit = Int(byte - UInt8(ascii: "0"))
            if inFraction {
                // Digits past the second decimal are dropped (truncation).
                if fractionDigits < 2 { fraction = fraction * 10 + digit }
                fractionDigits += 1
            } else {
                if whole > 100_000_000 { return nil }
                whole = whole * 10 + digit
            }
        case UInt8(ascii: "."):
            if inFraction { return nil }
            inFraction = true
        default:
            return nil
        }
    }
    guard sawDigit else { return nil }
    if fractionDigits == 1 { fraction *= 10 }
    return whole * 100 + fraction
}

/// Formats hundredths as "12.34", "12.3" or "12" (trailing zeros dropped).
public func formatHundredths(_ value: Int) -> String {
    let sign = value < 0 ? "-" : ""
    let magnitude = value < 0 ? -value : value
    let whole = magnitude / 100
    let fraction = magnitude % 100
    if fraction == 0 { return "\(sign)\(whole)" }
    if fraction % 10 == 0 { return "\(sign)\(whole).\(fraction / 10)" }
    return "\(sign)\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
}

/// part/whole in hundredths of a percent (0...10000), 0 when whole is 0.
public func percentHundredths(_ part: UInt64, of whole: UInt64) -> Int {
    guard whole > 0 else { return 0 }
    let clamped = part > whole ? whole : part
    // Multiply first (in 64 bits: no overflow below 1.8 EiB).
    return Int(clamped * 10_000 / whole)
}

/// A size in KiB, readable: "512 KiB", "41.5 MiB", "2.1 GiB".
public func formatKiB(_ kib: Int64) -> String {
    let sign = kib < 0 ? "-" : ""
    let magnitude = kib < 0 ? -kib : kib
    if magnitude < 1024 { return "\(sign)\(magnitude) KiB" }
    if magnitude < 1024 * 1024 { return sign + formatTenths(magnitude * 10 / 1024) + " MiB" }
    return sign + formatTenths(magnitude * 10 / (1024 * 1024)) + " GiB"
}

private func formatTenths(_ tenths: Int64) -> String {
    tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
}
