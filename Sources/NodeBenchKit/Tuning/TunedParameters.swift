import Foundation

/// GEMMs sorted by size, so parameters tuned on one size serve its neighbours.
public enum SizeClass: String, Codable, Sendable, CaseIterable {
    case small, medium, large

    /// Up to 2^24 multiply-adds is small (256³), up to 2^30 medium (1024³), beyond that large.
    public init(_ shape: GEMMShape) {
        let work = Double(shape.m) * Double(shape.n) * Double(shape.k)
        self = work <= 0x1p24 ? .small : work <= 0x1p30 ? .medium : .large
    }

    /// The shape the tuner times for this class: odd, so the edges are part of the measurement.
    public var tuningShape: GEMMShape {
        switch self {
        case .small: GEMMShape(m: 255, n: 257, k: 256)
        case .medium: GEMMShape(m: 1023, n: 1025, k: 1024)
        case .large: GEMMShape(m: 2047, n: 2049, k: 1024)
        }
    }
}

/// Tuning results per device fingerprint: for GEMM device name and driver, type, layout and size
/// class; for flash attention device name and driver, type and head dimension.
public struct TunedParameters: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var entries: [Entry]
    /// Flash attention kernel shapes (absent from files written before attention was tunable).
    public var flash: [FlashEntry]

    public struct FlashEntry: Codable, Sendable, Equatable {
        public var device: String
        public var driver: String
        public var dtype: DType
        public var headDim: Int
        public var parameters: FlashKernelParameters
        /// What the tuner measured on the tuning case (b1 h8 s1024, causal, this head dimension).
        public var gflops: Double
        public var tunedAt: String
        /// The blocks tuned at each sequence length, shortest first (absent from older files).
        public var keyBlocks: [SequenceBlocks] = []
        /// What the tuner measured on the tuning case's backward with the chosen key rows; nil where
        /// the backward was not tuned (older files, or no budget left).
        public var backwardGFLOPs: Double? = nil

        /// The parameters for a sequence of `seq` keys: a key block set in `parameters` holds for
        /// every length; otherwise the blocks tuned at the nearest length (by ratio) are used.
        public func parameters(seq: Int) -> (FlashKernelParameters, tunedAt: Int?) {
            guard parameters.keyBlock == nil,
                let nearest = keyBlocks.min(by: { abs(log(Double($0.seq) / Double(seq))) < abs(log(Double($1.seq) / Double(seq))) })
            else { return (parameters, nil) }
            var chosen = parameters
            chosen.keyBlock = nearest.keyBlock
            chosen.groupSize = nearest.groupSize ?? parameters.groupSize
            return (chosen, nearest.seq)
        }
    }

    /// What ran fastest at one sequence length: the key block (key panels; nil: the cache-size rule)
    /// and the work-group size, which sets how many query rows share each block read.
    public struct SequenceBlocks: Codable, Sendable, Equatable {
        public var seq: Int
        public var keyBlock: Int?
        /// nil: the entry's own (files written before the work-group was tuned per length).
        public var groupSize: Int?
        /// What the tuner measured with them (causal, at this length).
        public var gflops: Double

        public init(seq: Int, keyBlock: Int?, groupSize: Int? = nil, gflops: Double) {
            self.seq = seq
            self.keyBlock = keyBlock
            self.groupSize = groupSize
            self.gflops = gflops
        }
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var device: String
        public var driver: String
        public var dtype: DType
        public var layout: GEMMLayout
        public var sizeClass: SizeClass
        public var parameters: GEMMKernelParameters
        /// What the tuner measured with them on the class's tuning shape.
        public var gflops: Double
        public var tunedAt: String

        func matches(device: String, driver: String) -> Bool { self.device == device && self.driver == driver }
    }

    public init(entries: [Entry] = [], flash: [FlashEntry] = []) {
        schemaVersion = TunedParameters.currentSchemaVersion
        self.entries = entries
        self.flash = flash
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try container.decode(Int.self, forKey: .schemaVersion)
        entries = try container.decode([Entry].self, forKey: .entries)
        flash = try container.decodeIfPresent([FlashEntry].self, forKey: .flash) ?? []
    }

    /// The flash kernel shape for this case on this device: the same type and head dimension, or
    /// else the same head dimension tuned in another type (the kernel works in fp32 whatever the
    /// storage; only packing differs).
    public func lookup(device: String, driver: String, attention: AttentionCase) -> FlashEntry? {
        let candidates = flash.filter { $0.device == device && $0.driver == driver && $0.headDim == attention.shape.headDim }
        return candidates.first { $0.dtype == attention.dtype } ?? candidates.first
    }

    public mutating func record(_ entry: FlashEntry) {
        flash.removeAll { $0.device == entry.device && $0.driver == entry.driver && $0.dtype == entry.dtype && $0.headDim == entry.headDim }
        flash.append(entry)
    }

    /// The entry for this case on this device: the exact layout, or else the same type and size
    /// tuned in another layout (the GEMM kernel is the same for every layout; only packing differs).
    public func lookup(device: String, driver: String, gemm: GEMMCase) -> Entry? {
        let sizeClass = SizeClass(gemm.shape)
        let candidates = entries.filter { $0.matches(device: device, driver: driver) && $0.dtype == gemm.dtype && $0.sizeClass == sizeClass }
        return candidates.first { $0.layout == gemm.layout } ?? candidates.first
    }

    /// Adds or replaces the entry with the same fingerprint.
    public mutating func record(_ entry: Entry) {
        entries.removeAll {
            $0.matches(device: entry.device, driver: entry.driver) && $0.dtype == entry.dtype && $0.layout == entry.layout
                && $0.sizeClass == entry.sizeClass
        }
        entries.append(entry)
    }

    public mutating func merge(_ other: TunedParameters) {
        other.entries.forEach { record($0) }
        other.flash.forEach { record($0) }
    }

    // MARK: Files

    /// `$XDG_CACHE_HOME/nodebench` or `~/.cache/nodebench`.
    public static func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("nodebench")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".cache/nodebench")
    }

    public static var defaultURL: URL { cacheDirectory().appendingPathComponent("tuned-gemm.json") }

    public struct FileError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a tuning file. A missing file is empty; a corrupt or foreign one throws, saying why.
    public static func load(from url: URL) throws(FileError) -> TunedParameters {
        guard FileManager.default.fileExists(atPath: url.path) else { return TunedParameters() }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FileError(description: "cannot read \(url.path): \(error.localizedDescription)")
        }
        guard let decoded = try? JSONDecoder().decode(TunedParameters.self, from: data) else {
            throw FileError(description: "\(url.path) is not a NodeBench tuning file (corrupt or foreign)")
        }
        guard decoded.schemaVersion == currentSchemaVersion else {
            throw FileError(description: "\(url.path) has tuning schema \(decoded.schemaVersion); this nodebench reads \(currentSchemaVersion)")
        }
        return decoded
    }

    /// Like `load`, but a bad cache is set aside with a warning and an empty one used: the cache is
    /// only an optimisation and rebuilds itself.
    public static func loadCache(from url: URL, warn: (String) -> Void) -> TunedParameters {
        do {
            return try load(from: url)
        } catch {
            warn("ignoring the tuning cache: \(error.description); it will be rebuilt")
            return TunedParameters()
        }
    }

    public func save(to url: URL) throws(FileError) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: url, options: .atomic)
        } catch {
            throw FileError(description: "cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}

extension TunedParameters.FlashEntry {
    /// Entries written before key blocks were tuned per length have none (here, not in the struct,
    /// so the memberwise initializer stays).
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        device = try container.decode(String.self, forKey: .device)
        driver = try container.decode(String.self, forKey: .driver)
        dtype = try container.decode(DType.self, forKey: .dtype)
        headDim = try container.decode(Int.self, forKey: .headDim)
        parameters = try container.decode(FlashKernelParameters.self, forKey: .parameters)
        gflops = try container.decode(Double.self, forKey: .gflops)
        tunedAt = try container.decode(String.self, forKey: .tunedAt)
        keyBlocks = try container.decodeIfPresent([TunedParameters.SequenceBlocks].self, forKey: .keyBlocks) ?? []
        backwardGFLOPs = try container.decodeIfPresent(Double.self, forKey: .backwardGFLOPs)
    }
}
