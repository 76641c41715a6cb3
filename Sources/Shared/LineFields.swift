// Typed access to the fields of a parsed line, shared by the event and
// subscribe-request decoders. Each accessor checks presence, JSON type and
// range, and says which field was wrong. Keys it is not asked for are
// ignored: that is what lets a newer peer add fields.

struct LineFields {
    private let values: [String: JSONValue]

    /// Parses the line and checks its protocol version first, since a newer
    /// version may have changed the meaning of anything else in it.
    init(line: [UInt8]) throws(EventDecodingError) {
        values = try parseJSONObjectLine(line)
        let version: Int64 = try integer("v")
        guard version <= Int64(protocolVersion) else {
            throw EventDecodingError(
                .unsupportedVersion,
                "protocol version \(version) is newer than the supported version \(protocolVersion)")
        }
        guard version >= 1 else {
            throw EventDecodingError(.unsupportedVersion, "invalid protocol version \(version)")
        }
    }

    // MARK: Required fields (absent or null is an error)

    func integer<T: FixedWidthInteger>(_ key: String) throws(EventDecodingError) -> T {
        try integerValue(try required(key), key)
    }

    /// A decimal number with at most two decimals, as hundredths.
    func hundredths(_ key: String) throws(EventDecodingError) -> Int {
        try hundredthsValue(try required(key), key)
    }

    func bytes(_ key: String) throws(EventDecodingError) -> [UInt8] {
        try bytesValue(try required(key), key)
    }

    func string(_ key: String) throws(EventDecodingError) -> String {
        String(decoding: try bytes(key), as: UTF8.self)
    }

    func bool(_ key: String) throws(EventDecodingError) -> Bool {
        guard case .bool(let flag) = try required(key) else { throw wrongType(key, "true or false") }
        return flag
    }

    /// One of an enum's string raw values.
    func choice<Choice: RawRepresentable>(_ key: String) throws(EventDecodingError) -> Choice
    where Choice.RawValue == String {
        let name = try bytes(key)
        guard let choice = Choice(rawValue: String(decoding: name, as: UTF8.self)) else {
            throw EventDecodingError(.invalidValue, "field " + quoted(key) + " has an unknown value " + quoted(name))
        }
        return choice
    }

    // MARK: Optional fields (absent or null is nil)

    func optionalInteger<T: FixedWidthInteger>(_ key: String) throws(EventDecodingError) -> T? {
        guard let value = optional(key) else { return nil }
        return try integerValue(value, key)
    }

    func optionalHundredths(_ key: String) throws(EventDecodingError) -> Int? {
        guard let value = optional(key) else { return nil }
        return try hundredthsValue(value, key)
    }

    func optionalBytes(_ key: String) throws(EventDecodingError) -> [UInt8]? {
        guard let value = optional(key) else { return nil }
        return try bytesValue(value, key)
    }

    func optionalString(_ key: String) throws(EventDecodingError) -> String? {
        guard let bytes = try optionalBytes(key) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Conversions

    private func required(_ key: String) throws(EventDecodingError) -> JSONValue {
        guard let value = values[key] else {
            throw EventDecodingError(.missingField, "missing field " + quoted(key))
        }
        guard value != .null else { throw wrongType(key, "a value, not null") }
        return value
    }

    private func optional(_ key: String) -> JSONValue? {
        guard let value = values[key], value != .null else { return nil }
        return value
    }

    private func bytesValue(_ value: JSONValue, _ key: String) throws(EventDecodingError) -> [UInt8] {
        guard case .string(let bytes) = value else { throw wrongType(key, "a string") }
        return bytes
    }

    /// Whole numbers only ("3.0" and "3e0" are refused), checked against
    /// T's range without ever overflowing.
    private func integerValue<T: FixedWidthInteger>(_ value: JSONValue, _ key: String) throws(EventDecodingError) -> T {
        guard case .number(let text) = value else { throw wrongType(key, "a number") }
        let negative = text.first == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        for byte in text.dropFirst(negative ? 1 : 0) {
            guard let digit = decimalDigit(byte) else { throw wrongType(key, "a whole number") }
            let (times10, overflowed) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carried) = times10.addingReportingOverflow(UInt64(digit))
            guard !overflowed && !carried else { throw outOfRange(key) }
            magnitude = sum
        }
        let result: T?
        if !negative || magnitude == 0 {
            result = T(exactly: magnitude)
        } else if magnitude <= UInt64(Int64.max) {
            result = T(exactly: -Int64(magnitude))
        } else if magnitude == UInt64(Int64.max) + 1 {
            result = T(exactly: Int64.min)
        } else {
            result = nil
        }
        guard let result else { throw outOfRange(key) }
        return result
    }

    /// "12", "12.3", "12.34", "-0.5" as hundredths; no exponent, and more
    /// than two decimals is refused rather than silently rounded.
    private func hundredthsValue(_ value: JSONValue, _ key: String) throws(EventDecodingError) -> Int {
        guard case .number(let text) = value else { throw wrongType(key, "a number") }
        let negative = text.first == UInt8(ascii: "-")
        var result = 0
        var decimals: Int? = nil
        for byte in text.dropFirst(negative ? 1 : 0) {
            if byte == UInt8(ascii: ".") {
                decimals = 0
                continue
            }
            guard let digit = decimalDigit(byte) else { throw wrongType(key, "a number without exponent") }
            if let count = decimals {
                guard count < 2 else {
                    throw EventDecodingError(.invalidValue, "field " + quoted(key) + " has more than two decimals")
                }
                decimals = count + 1
            }
            result = try appendingDigit(digit, to: result, key)
        }
        for _ in (decimals ?? 0)..<2 { result = try appendingDigit(0, to: result, key) }
        return negative ? -result : result
    }

    private func appendingDigit(_ digit: Int, to value: Int, _ key: String) throws(EventDecodingError) -> Int {
        let (times10, overflowed) = value.multipliedReportingOverflow(by: 10)
        let (sum, carried) = times10.addingReportingOverflow(digit)
        guard !overflowed && !carried else { throw outOfRange(key) }
        return sum
    }

    private func decimalDigit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    private func wrongType(_ key: String, _ expected: String) -> EventDecodingError {
        EventDecodingError(.wrongType, "field " + quoted(key) + " must be " + expected)
    }

    private func outOfRange(_ key: String) -> EventDecodingError {
        EventDecodingError(.outOfRange, "field " + quoted(key) + " is out of range")
    }
}
