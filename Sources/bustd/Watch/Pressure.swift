import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// One line of a PSI file: averages in hundredths of a percent, total in µs.
struct PressureLine: Equatable {
    var avg10 = 0
    var avg60 = 0
    var avg300 = 0
    var totalMicroseconds: UInt64 = 0
}

struct PressureFigures: Equatable {
    var some = PressureLine()
    var full = PressureLine()

    /// The line the rule watches (--psi-metric).
    func line(_ metric: PressureMetric) -> PressureLine { metric == .some ? some : full }
}

/// Parses /proc/pressure/memory or a cgroup's memory.pressure. The "some"
/// line is required; "full" may be absent (it reads as zeros).
func parsePressure(_ bytes: UnsafeBufferPointer<UInt8>) -> PressureFigures? {
    var figures = PressureFigures()
    var sawSome = false
    for slice in bytes.split(separator: 0x0A) {
        let line = UnsafeBufferPointer(rebasing: slice)
        guard let space = line.firstIndex(of: 0x20) else { continue }
        let kind = line[0..<space]
        guard let parsed = parsePressureFields(UnsafeBufferPointer(rebasing: line[(space + 1)...])) else { return nil }
        if kind.elementsEqual("some".utf8) {
            figures.some = parsed
            sawSome = true
        } else if kind.elementsEqual("full".utf8) {
            figures.full = parsed
        }
    }
    return sawSome ? figures : nil
}

/// "avg10=1.23 avg60=0.50 avg300=0.00 total=12345"; all four required.
private func parsePressureFields(_ fields: UnsafeBufferPointer<UInt8>) -> PressureLine? {
    var line = PressureLine()
    var seen = 0
    for field in fields.split(separator: 0x20) {
        guard let equals = field.firstIndex(of: UInt8(ascii: "=")) else { return nil }
        let key = field[field.startIndex..<equals]
        let valueBytes = field[(equals + 1)...]
        let value = String(decoding: valueBytes, as: UTF8.self)
        if key.elementsEqual("total".utf8) {
            guard let total = UInt64(value) else { return nil }
            line.totalMicroseconds = total
            seen |= 8
            continue
        }
        guard let hundredths = parseHundredths(value) else { return nil }
        if key.elementsEqual("avg10".utf8) {
            line.avg10 = hundredths
            seen |= 1
        } else if key.elementsEqual("avg60".utf8) {
            line.avg60 = hundredths
            seen |= 2
        } else if key.elementsEqual("avg300".utf8) {
            line.avg300 = hundredths
            seen |= 4
        }
    }
    return seen == 15 ? line : nil
}

/// Whether PSI can be used, and why not.
enum PressureAvailability: Equatable {
    case available
    case unavailable(String)
}

/// Memory PSI: a read-only fd re-read with pread, and a trigger fd that
/// poll(2) reports with POLLPRI when stalls begin, so bustd can sleep long
/// while memory is fine and still wake within a second of trouble.
final class PressureSource {
    let path: String
    private(set) var availability: PressureAvailability
    private(set) var readFD: Int32 = -1
    /// The trigger fd to poll for POLLPRI, or -1 (no triggers: timer only).
    private(set) var triggerFD: Int32 = -1
    /// The trigger as written, e.g. "some 150000 1000000".
    private(set) var triggerDescription = ""
    private let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 512)

    init(path: String) {
        self.path = path
        availability = .available
        readFD = bustd_open(path, O_RDONLY, 0)
        if readFD < 0 {
            let error = bustd_errno()
            availability = .unavailable(
                error == ENOENT
                    ? "\(path) does not exist (kernel without CONFIG_PSI, or booted with psi=0)"
                    : "cannot open \(path): \(errorText(error))")
            return
        }
        if read() == nil {
            let error = bustd_errno()
            availability = .unavailable("cannot read \(path): \(errorText(error)) (PSI disabled: boot with psi=1)")
            close(readFD)
            readFD = -1
        }
    }

    deinit {
        if readFD >= 0 { close(readFD) }
        if triggerFD >= 0 { close(triggerFD) }
        buffer.deallocate()
    }

    func read() -> PressureFigures? {
        guard readFD >= 0 else { return nil }
        let count = pread(readFD, buffer.baseAddress, buffer.count, 0)
        guard count > 0 else { return nil }
        return parsePressure(UnsafeBufferPointer(rebasing: buffer[0..<count]))
    }

    func disarmTrigger() {
        if triggerFD >= 0 { close(triggerFD) }
        triggerFD = -1
    }

    /// Arms a trigger: 150 ms of "some" stall within a 1 s window; where the
    /// kernel refuses 1 s windows (EINVAL without CAP_SYS_RESOURCE), 2 s.
    /// Returns an explanation when no trigger could be set.
    func armTrigger() -> String? {
        guard availability == .available else { return nil }
        var lastError: Int32 = 0
        for trigger in ["some 150000 1000000", "some 150000 2000000"] {
            let fd = bustd_open(path, O_RDWR | O_NONBLOCK, 0)
            guard fd >= 0 else { return "cannot open \(path) for a trigger: \(errorText(bustd_errno()))" }
            var bytes = Array(trigger.utf8)
            bytes.append(0)  // the kernel expects the terminating NUL
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written > 0 {
                triggerFD = fd
                triggerDescription = trigger
                return nil
            }
            lastError = bustd_errno()
            close(fd)
            if lastError != EINVAL { break }
        }
        return "cannot set a PSI trigger on \(path): \(errorText(lastError))"
    }
}
