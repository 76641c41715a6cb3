import CBustd

/// Bytes that matter only during one call: the buffer a /proc file is read
/// into. It is its own anonymous mapping (bustd_scratch_allocate), so when
/// bustd drops what its idle loop does not use (KillReadiness), the buffer's
/// pages go too, and come back zeroed at the next read; a malloc'd buffer
/// would stay resident (and locked) for good once touched.
struct ScratchBuffer {
    let bytes: UnsafeMutableBufferPointer<UInt8>
    private let isMapped: Bool

    init(capacity: Int) {
        if let address = bustd_scratch_allocate(capacity) {
            bytes = UnsafeMutableBufferPointer(start: address.assumingMemoryBound(to: UInt8.self), count: capacity)
            isMapped = true
        } else {
            bytes = .allocate(capacity: capacity)  // works, only never dropped
            isMapped = false
        }
    }

    func release() {
        if isMapped { bustd_scratch_release(bytes.baseAddress, bytes.count) } else { bytes.deallocate() }
    }
}
