/// Why a line from the event socket could not be read. The message is
/// meant for a log or a terminal: any text quoted from the line is escaped.
public struct EventDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// Longer than maxLineBytes: the rest of the line was not read.
        case lineTooLong
        /// Not one JSON object, or not valid JSON (including invalid UTF-8).
        case malformedJSON
        /// Objects or arrays nested deeper than maxNestingDepth.
        case tooDeeplyNested
        /// "v" is newer than protocolVersion (or not a version at all).
        case unsupportedVersion
        /// A "type" this program does not know.
        case unknownType
        case missingField
        /// A field holds the wrong kind of JSON value (text for a number...).
        case wrongType
        /// A number too large or too small for its field.
        case outOfRange
        /// The right kind of value, but not one of the allowed ones.
        case invalidValue
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
