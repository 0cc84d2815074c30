/// Two executions of the same inputs must give the same output bit for bit: every implementation
/// NodeBench runs is deterministic, so a difference is a device fault (silent data corruption),
/// however small.
enum Repeatability {
    /// Why `second` is not `first` bit for bit; nil when it is.
    static func difference(_ first: [Double], _ second: [Double]) -> String? {
        guard first.count == second.count else {
            return "a second execution returned \(second.count) elements, the first \(first.count)"
        }
        let differing = first.indices.filter { first[$0].bitPattern != second[$0].bitPattern }
        guard let index = differing.first else { return nil }
        return "a second execution of the same inputs differs in \(differing.count) of \(first.count) elements "
            + "(first at \(index): \(first[index]) then \(second[index])): the device does not compute reproducibly"
    }

    /// A fingerprint of an output, bit for bit: FNV-1a (64 bits) over the values' fp64 bit
    /// patterns, as 16 hex digits. Devices of one model and driver given the same inputs must give
    /// the same one, so a fleet finds a device that is wrong the same way every time.
    static func checksum(_ values: [Double]) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for value in values {
            var bits = value.bitPattern
            for _ in 0..<8 {
                hash = (hash ^ (bits & 0xFF)) &* 0x0000_0100_0000_01B3
                bits >>= 8
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
