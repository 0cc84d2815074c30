/// Slurm's compact node lists (`n[1-4]`, `gpu[001-128,130],login1`), expanded to names, as
/// `scontrol show hostnames` does: a fleet merge knows from the allocation which nodes must report.
public enum HostList {
    public static func expand(_ text: String) throws(UsageError) -> [String] {
        var names: [String] = []
        for item in try topLevelItems(text) {
            guard let open = item.firstIndex(of: "[") else {
                names.append(item)
                continue
            }
            guard item.last == "]", item.filter({ $0 == "[" }).count == 1 else {
                throw UsageError("node list '\(text)': '\(item)' must be NAME or PREFIX[RANGES], such as n[1-4] or gpu[001-128,130]")
            }
            let prefix = String(item[..<open])
            let ranges = item[item.index(after: open)..<item.index(before: item.endIndex)]
            for range in ranges.split(separator: ",", omittingEmptySubsequences: false) {
                names += try expand(range: String(range), prefix: prefix, in: text)
            }
        }
        guard !names.isEmpty else { throw UsageError("node list '\(text)' names no node") }
        return names
    }

    /// Splits at commas outside brackets.
    private static func topLevelItems(_ text: String) throws(UsageError) -> [String] {
        var items: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "[": depth += 1
            case "]": depth -= 1
            default: break
            }
            guard depth >= 0 && depth <= 1 else { throw UsageError("node list '\(text)': unbalanced brackets") }
            if character == "," && depth == 0 {
                items.append(current)
                current = ""
            } else if !character.isWhitespace {
                current.append(character)
            }
        }
        guard depth == 0 else { throw UsageError("node list '\(text)': unbalanced brackets") }
        items.append(current)
        return items.filter { !$0.isEmpty }
    }

    /// `001-128` keeps the first bound's zero padding, as Slurm does.
    private static func expand(range: String, prefix: String, in text: String) throws(UsageError) -> [String] {
        let bounds = range.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds.last!), low >= 0, low <= high,
            high - low < 1_000_000
        else {
            throw UsageError("node list '\(text)': '\(range)' must be a number or a range LOW-HIGH")
        }
        let width = bounds[0].count
        return (low...high).map { number in
            let digits = String(number)
            return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
    }
}
