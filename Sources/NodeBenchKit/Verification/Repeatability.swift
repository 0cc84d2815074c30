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
}
