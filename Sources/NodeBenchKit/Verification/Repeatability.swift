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

    /// A fingerprint of an output, bit for bit, as 16 hex digits (`Fingerprint`).
    static func checksum(_ values: [Double]) -> String {
        var fingerprint = Fingerprint()
        values.withUnsafeBufferPointer { fingerprint.add($0) }
        return fingerprint.hex
    }

    /// A fingerprint of an output taken in pieces. Devices of one model and driver given the same
    /// inputs must give the same one, so a fleet finds a device that is wrong the same way every
    /// time. Each value's fp64 bit pattern is one 64-bit word; value i goes to lane i mod 4,
    /// `lane = (lane ^ word) * FNV prime`, so the multiplies of the lanes overlap (the case's output
    /// is fingerprinted after every repetition, and a billion-element LM-head output must not take
    /// longer than its kernel). Each step is a bijection of its lane, so a single changed value
    /// always changes the fingerprint.
    struct Fingerprint {
        private static let prime: UInt64 = 0x0000_0100_0000_01B3
        private var lanes: (UInt64, UInt64, UInt64, UInt64) = (0xCBF2_9CE4_8422_2325, 0x8422_2325_CBF2_9CE4, 0x9E37_79B9_7F4A_7C15, 0xC2B2_AE3D_27D4_EB4F)
        private var count = 0

        /// Takes the next values of the output, in order.
        mutating func add(_ values: UnsafeBufferPointer<Double>) {
            var index = 0
            while index < values.count && (count + index) % 4 != 0 { addOne(values[index], at: count + index); index += 1 }
            let whole = index + (values.count - index) / 4 * 4
            while index < whole {
                lanes.0 = (lanes.0 ^ values[index].bitPattern) &* Self.prime
                lanes.1 = (lanes.1 ^ values[index + 1].bitPattern) &* Self.prime
                lanes.2 = (lanes.2 ^ values[index + 2].bitPattern) &* Self.prime
                lanes.3 = (lanes.3 ^ values[index + 3].bitPattern) &* Self.prime
                index += 4
            }
            while index < values.count { addOne(values[index], at: count + index); index += 1 }
            count += values.count
        }

        private mutating func addOne(_ value: Double, at position: Int) {
            switch position % 4 {
            case 0: lanes.0 = (lanes.0 ^ value.bitPattern) &* Self.prime
            case 1: lanes.1 = (lanes.1 ^ value.bitPattern) &* Self.prime
            case 2: lanes.2 = (lanes.2 ^ value.bitPattern) &* Self.prime
            default: lanes.3 = (lanes.3 ^ value.bitPattern) &* Self.prime
            }
        }

        /// The lanes and the count mixed into 16 hex digits.
        var hex: String {
            var hash = UInt64(count)
            for lane in [lanes.0, lanes.1, lanes.2, lanes.3] { hash = Repeatability.mixed(hash ^ lane) }
            let hex = String(hash, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
    }

    /// MurmurHash3's 64-bit finalizer: every input bit reaches every output bit.
    private static func mixed(_ value: UInt64) -> UInt64 {
        var bits = value
        bits = (bits ^ (bits >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        bits = (bits ^ (bits >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        return bits ^ (bits >> 33)
    }
}
