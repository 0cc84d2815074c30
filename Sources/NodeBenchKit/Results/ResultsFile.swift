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

extension RunDocument {
    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// A result file written by this version of the schema; the error says what is wrong with it.
    /// Without `samples`, every `Statistics` is its summary alone (its `samples` empty).
    public static func load(from url: URL, samples: Bool = true) throws(LoadError) -> RunDocument {
        guard FileManager.default.fileExists(atPath: url.path) else { throw LoadError(description: "no result file at \(url.path)") }
        guard let data = try? Data(contentsOf: url) else { throw LoadError(description: "\(url.path) cannot be read") }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        decoder.userInfo[.decodesSamples] = samples
        // The common case parses once; only a file that does not decode is looked at again, to say why.
        if let document = try? decoder.decode(RunDocument.self, from: data), readableSchemaVersions.contains(document.schemaVersion) {
            return document
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LoadError(description: "\(url.path) is not a NodeBench result file (not a JSON object)")
        }
        guard let version = object["schemaVersion"] as? Int else {
            throw LoadError(description: "\(url.path) is not a NodeBench result file (no schemaVersion)")
        }
        guard readableSchemaVersions.contains(version) else {
            throw LoadError(
                description: "\(url.path) has result schema \(version); this nodebench reads \(readableSchemaVersions.lowerBound) to \(currentSchemaVersion): "
                    + "re-run it, or save the baseline again (nodebench baseline save NAME --runs 10)")
        }
        do {
            return try decoder.decode(RunDocument.self, from: data)
        } catch {
            let path = (error as? DecodingError).map(RunDocument.codingPath) ?? ""
            throw LoadError(description: "\(url.path) is a corrupt NodeBench result file (it does not decode as schema \(version)\(path))")
        }
    }
}

extension RunDocument {
    /// " at results.3.stats" for a decoding error.
    static func codingPath(_ error: DecodingError) -> String {
        let path: [CodingKey]
        switch error {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): path = context.codingPath
        @unknown default: path = []
        }
        return path.isEmpty ? "" : " at " + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
