import Testing

@testable import bustd

@Suite struct ProcessStatTests {
    func stat(_ name: String, state: String = "S", flags: UInt64 = 0x400100, ppid: Int = 77) -> ProcessStat? {
        let line =
            "4242 (\(name)) \(state) \(ppid) 4242 4242 0 -1 \(flags) 120 0 0 0 5 3 0 0 20 0 1 0 987654 123456789 2500 18446744073709551615 1 1 0\n"
        return withBytes(line) { parseProcessStat($0) }
    }

    @Test func readsFieldsAfterTheName() throws {
        let parsed = try #require(stat("firefox"))
        #expect(parsed.name == Array("firefox".utf8))
        #expect(parsed.state == UInt8(ascii: "S"))
        #expect(parsed.parentPID == 77)
        #expect(parsed.processGroup == 4242)
        #expect(parsed.startTime == 987654)
        #expect(parsed.residentPages == 2500)
        #expect(!parsed.isZombie && !parsed.isKernelThread)
    }

    @Test(arguments: ["a b c", "x) Z (y", ") R 1 2 3 (", "new\nline", "Z", "((()))", ""])
    func hostileNamesDoNotShiftFields(name: String) throws {
        let parsed = try #require(stat(name))
        #expect(parsed.name == Array(name.utf8))
        #expect(parsed.state == UInt8(ascii: "S"))
        #expect(parsed.startTime == 987654)
        #expect(!parsed.isZombie)
    }

    @Test func zombiesAndKernelThreads() throws {
        #expect(try #require(stat("defunct", state: "Z")).isZombie)
        #expect(try #require(stat("dead", state: "X")).isZombie)
        #expect(try #require(stat("kworker/0:1", flags: 0x0420_8040)).isKernelThread)
        #expect(try #require(stat("kthreadchild", ppid: 2)).isKernelThread)
    }

    @Test func truncatedOrGarbageLinesAreRejected() {
        for line in ["", "4242", "4242 (name", "4242 (name) S 1 2", "4242 (name) S x y z", "garbage)"] {
            #expect(withBytes(line) { parseProcessStat($0) } == nil, "\(line)")
        }
    }
}
