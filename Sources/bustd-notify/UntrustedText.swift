// Process names come from whoever started the process. Before one reaches
// a notification, everything that could forge or hide text goes: control
// characters (a newline would start a fake line), bidirectional overrides
// (they reorder what is shown), and, where markup is read, < > &.

/// Untrusted bytes as one line of plain text: invalid UTF-8 becomes U+FFFD,
/// control, bidi and invisible characters become "?", at most
/// maxCharacters characters (then "…").
func displayName<C: Collection>(_ bytes: C, maxCharacters: Int = 64) -> String where C.Element == UInt8 {
    var out = ""
    var count = 0
    for scalar in String(decoding: Array(bytes), as: UTF8.self).unicodeScalars {
        if count == maxCharacters {
            out += "…"
            break
        }
        out.unicodeScalars.append(isUnsafeForDisplay(scalar) ? "?" : scalar)
        count += 1
    }
    return out.isEmpty ? "?" : out
}

/// Controls (C0, C1, DEL), line and paragraph separators, and every
/// character Unicode itself marks as reordering text (Bidi_Control: the
/// embeddings, overrides, isolates, marks, U+061C) or as invisible
/// (Default_Ignorable_Code_Point: zero-width spaces and joiners, U+200B,
/// variation selectors, tags...). The sets come from the standard library's
/// Unicode tables, not a hand list, so none is forgotten.
func isUnsafeForDisplay(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: return true
    default:
        let properties = scalar.properties
        return properties.isBidiControl || properties.isDefaultIgnorableCodePoint
            || properties.generalCategory == .control || properties.generalCategory == .format
            || properties.generalCategory == .lineSeparator || properties.generalCategory == .paragraphSeparator
    }
}

/// For a notification body, which servers with "body-markup" read as a
/// subset of HTML: & < > become entities.
func escapedMarkup(_ text: String) -> String {
    replacingMarkupCharacters(text, ampersand: "&amp;", less: "&lt;", greater: "&gt;")
}

/// For a summary: the specification says it is plain text, but some
/// servers (dunst's default format) put it into markup. Entities would show
/// literally on the others, so the three characters become look-alikes.
func markupFreeSummary(_ text: String) -> String {
    replacingMarkupCharacters(text, ampersand: "＆", less: "‹", greater: "›")
}

private func replacingMarkupCharacters(_ text: String, ampersand: String, less: String, greater: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text.unicodeScalars {
        switch character {
        case "&": out += ampersand
        case "<": out += less
        case ">": out += greater
        default: out.unicodeScalars.append(character)
        }
    }
    return out
}
