import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// How far MemAvailable can sit below MemFree: the kernel's total reserve
/// (each zone's high watermark plus its largest lowmem reserve, capped at
/// its managed pages: calculate_totalreserve_pages in mm/page_alloc.c).
/// MemAvailable is MemFree minus that reserve plus what reclaim can free,
/// so with the page cache gone it is that much below MemFree: 5 % of a
/// 1 GiB machine. The quick look (sysinfo's free RAM) subtracts it before
/// it may say memory is fine.
struct FreeRAMReserve {
    /// The reserve in KiB: /proc/zoneinfo's at start, raised by any gap
    /// between MemFree and MemAvailable seen since (an administrator may
    /// raise min_free_kbytes at any time).
    private(set) var kiB: Int64

    /// Without /proc/zoneinfo, a tenth of RAM: the quick look then says
    /// "fine" less often, never wrongly.
    init(zoneinfoKiB: Int64?, totalKiB: Int64) {
        kiB = zoneinfoKiB ?? totalKiB / 10
    }

    /// Reads /proc/zoneinfo once (at start).
    static func read(totalKiB: Int64, path: String = "/proc/zoneinfo") -> FreeRAMReserve {
        let pageKiB = Int64(max(sysconf(Int32(_SC_PAGESIZE)), 4096) / 1024)
        let pages = readLines(path: path, into: ZoneinfoReserve()) { $0.take($1) }?.totalPages
        return FreeRAMReserve(zoneinfoKiB: pages.map { $0 * pageKiB }, totalKiB: totalKiB)
    }

    mutating func learn(freeKiB: Int64, availableKiB: Int64) {
        if freeKiB - availableKiB > kiB { kiB = freeKiB - availableKiB }
    }

    /// The least MemAvailable can be with this much free RAM.
    func availableAtLeastKiB(freeKiB: Int64) -> Int64 { max(0, freeKiB - kiB) }
}

/// The per-zone sums of /proc/zoneinfo, fed one line at a time.
struct ZoneinfoReserve {
    private(set) var totalPages: Int64 = 0
    private var zone: (high: Int64, managed: Int64?, protection: Int64)?

    var complete: ZoneinfoReserve {
        var copy = self
        copy.closeZone()
        return copy
    }

    mutating func take(_ line: ArraySlice<UInt8>) {
        let text = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        if text.starts(with: "Node ".utf8) && text.contains(UInt8(ascii: ",")) {
            closeZone()
            zone = (high: 0, managed: nil, protection: 0)
        } else if zone != nil, let value = ZoneinfoReserve.value(of: "high", in: text) {
            zone?.high = value  // "high 8335"; the per-CPU "high:" lines have a colon
        } else if zone != nil, let value = ZoneinfoReserve.value(of: "managed", in: text) {
            zone?.managed = value
        } else if zone != nil, text.starts(with: "protection:".utf8) {
            // "protection: (0, 3018, 9162, 9162)": the largest reserve.
            var largest: Int64 = 0
            for field in text.dropFirst(11).split(whereSeparator: { !($0 >= 0x30 && $0 <= 0x39) }) {
                if let number = parseLeadingInteger(field), number > largest { largest = Int64(number) }
            }
            zone?.protection = largest
        }
    }

    private mutating func closeZone() {
        guard let zone, let managed = zone.managed else { return }
        totalPages += min(zone.high + zone.protection, managed)
        self.zone = nil
    }

    /// "key 123" (spaces between, nothing after) → 123.
    private static func value(of key: String, in text: ArraySlice<UInt8>) -> Int64? {
        guard text.starts(with: key.utf8) else { return nil }
        let rest = text.dropFirst(key.utf8.count)
        guard rest.first == UInt8(ascii: " ") else { return nil }
        let digits = rest.drop { $0 == UInt8(ascii: " ") }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = parseLeadingInteger(digits) else {
            return nil
        }
        return Int64(number)
    }
}

/// Feeds a file's lines to state, reading 4 KiB at a time (zoneinfo has a
/// block per CPU and zone: megabytes on big machines). Lines longer than
/// the buffer are cut. nil if the file cannot be read.
private func readLines(
    path: String, into state: ZoneinfoReserve, _ take: (inout ZoneinfoReserve, ArraySlice<UInt8>) -> Void
) -> ZoneinfoReserve? {
    let fd = bustd_open(path, O_RDONLY, 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var state = state
    var pending: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 { return nil }
        if count == 0 { break }
        pending += chunk[0..<count]
        while let newline = pending.firstIndex(of: 0x0A) {
            take(&state, pending[0..<newline])
            pending.removeFirst(newline + 1)
        }
        if pending.count > 4096 { pending.removeAll() }
    }
    if !pending.isEmpty { take(&state, pending[...]) }
    return state.complete
}
