import Testing

@testable import Shared

@Suite struct FixedPointTests {
    @Test func parsesDecimals() {
        #expect(parseHundredths("10") == 1000)
        #expect(parseHundredths("2.5") == 250)
        #expect(parseHundredths("0.25") == 25)
        #expect(parseHundredths("0.259") == 25)
        #expect(parseHundredths(".5") == 50)
        #expect(parseHundredths("100") == 10_000)
    }

    @Test func rejectsNonNumbers() {
        for text in ["", ".", "-1", "1e3", "1.2.3", "ten", " 1", "1,5", "9999999999999"] {
            #expect(parseHundredths(text) == nil, "\(text)")
        }
    }

    @Test func formats() {
        #expect(formatHundredths(1000) == "10")
        #expect(formatHundredths(1050) == "10.5")
        #expect(formatHundredths(1005) == "10.05")
        #expect(formatHundredths(-250) == "-2.5")
        #expect(formatKiB(512) == "512 KiB")
        #expect(formatKiB(1536) == "1.5 MiB")
        #expect(formatKiB(2_202_010) == "2.1 GiB")
        #expect(formatKiB(-2048) == "-2 MiB")
    }

    @Test func percentMultipliesBeforeDividing() {
        #expect(percentHundredths(1, of: 3) == 3333)
        #expect(percentHundredths(5, of: 0) == 0)
        #expect(percentHundredths(7, of: 5) == 10_000)
        // 20 GiB in bytes: the product must not overflow.
        let total: UInt64 = 20 << 30
        #expect(percentHundredths(total / 10, of: total) == 1000)
    }
}
