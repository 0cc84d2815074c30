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

    /// A fingerprint of an output, bit for bit, as 16 hex digits. Devices of one model and driver
    /// given the same inputs must give the same one, so a fleet finds a device that is wrong the
    /// same way every time. Each value's fp64 bit pattern is one 64-bit word; four lanes take
    /// every fourth word each, `lane = (lane ^ word) * FNV prime`, so the multiplies of the lanes
    /// overlap (the case's output is fingerprinted after every repetition, and a billion-element
    /// LM-head output must not take longer than its kernel). Each step is a bijection of its
    /// lane, so a single changed value always changes the fingerprint.
    static func checksum(_ values: [Double]) -> String {
        let prime: UInt64 = 0x0000_0100_0000_01B3
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0xCBF2_9CE4_8422_2325, 0x8422_2325_CBF2_9CE4, 0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F)
        let whole = values.count / 4 * 4
        values.withUnsafeBufferPointer { buffer in
            var index = 0
            while index < whole {
                lanes.0 = (lanes.0 ^ buffer[index].bitPattern) &* prime
                lanes.1 = (lanes.1 ^ buffer[index + 1].bitPattern) &* prime
                lanes.2 = (lanes.2 ^ buffer[index + 2].bitPattern) &* prime
                lanes.3 = (lanes.3 ^ buffer[index + 3].bitPattern) &* prime
                index += 4
            }
            for rest in whole..<buffer.count { lanes.0 = (lanes.0 ^ buffer[rest].bitPattern) &* prime }
        }
        var hash = UInt64(values.count)
        for lane in [lanes.0, lanes.1, lanes.2, lanes.3] { hash = mixed(hash ^ lane) }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.
    private static func mixed(_ value: UInt64) -> UInt64 {
        var bits = value
        bits = (bits ^ (bits >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        bits = (bits ^ (bits >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return bits ^ (bits >> 33)
    }
}
