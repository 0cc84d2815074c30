import Foundation

/// Writes a run's document after every case, atomically, so an interrupted run keeps every
/// case measured so far in a valid file.
public final class ResultsFile {
    public let url: URL
    private let encoder: JSONEncoder

    public init(url: URL) throws {
        self.url = url
        encoder = RunDocument.encoder
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    }

    public func write(_ document: RunDocument) throws {
        try encoder.encode(document).write(to: url, options: .atomic)
    }

    /// `results/runs/<host>-<UTC time>.json` under `directory`.
    public static func defaultURL(host: String, in directory: URL) -> URL {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let safeHost = host.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
        return directory.appendingPathComponent("results/runs/\(String(safeHost))-\(formatter.string(from: Date())).json")
    }
}

extension RunDocument {
    /// Sorted keys and pretty printing, so result files diff well.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }
}
