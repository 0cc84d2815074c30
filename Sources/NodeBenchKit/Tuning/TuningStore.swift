import Foundation

/// Where tuned parameters live: the per-user cache that `run` reads by default, and a file exported
/// for other nodes. A bad cache is set aside with a warning (it only saves time and rebuilds
/// itself); a bad file named by the user is an error.
public struct TuningStore {
    public let cacheURL: URL
    public let exportURL: URL?
    private var cache: TunedParameters
    private var exported: TunedParameters

    /// For `tune`: each result goes to the cache and, with `exportPath`, to that file too (merged
    /// into what it holds).
    public init(exportingTo exportPath: String?, cacheURL: URL = TunedParameters.defaultURL, warn: (String) -> Void) throws(CommandFailure) {
        self.cacheURL = cacheURL
        exportURL = exportPath.map { URL(fileURLWithPath: $0) }
        cache = TunedParameters.loadCache(from: cacheURL, warn: warn)
        exported = try exportURL.map(TuningStore.load) ?? TunedParameters()
    }

    /// Adds a result and saves both files at once, so an interrupted tuning keeps what it found.
    public mutating func record(_ add: (inout TunedParameters) -> Void) throws(CommandFailure) {
        add(&cache)
        add(&exported)
        try TuningStore.save(cache, to: cacheURL)
        if let exportURL { try TuningStore.save(exported, to: exportURL) }
    }

    /// For `run`: the cache, with `importing` (a file another node exported) taking precedence.
    public static func parameters(
        importing path: String?, cacheURL: URL = TunedParameters.defaultURL, warn: (String) -> Void
    ) throws(CommandFailure) -> TunedParameters {
        var parameters = TunedParameters.loadCache(from: cacheURL, warn: warn)
        if let path {
            guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure(status: .usage, message: "--tuned-params: no file at \(path)") }
            parameters.merge(try load(URL(fileURLWithPath: path)))
        }
        return parameters
    }

    private static func load(_ url: URL) throws(CommandFailure) -> TunedParameters {
        do { return try TunedParameters.load(from: url) } catch { throw CommandFailure(status: .usage, message: error.description) }
    }

    private static func save(_ parameters: TunedParameters, to url: URL) throws(CommandFailure) {
        do { try parameters.save(to: url) } catch { throw CommandFailure(status: .ioError, message: error.description) }
    }
}
