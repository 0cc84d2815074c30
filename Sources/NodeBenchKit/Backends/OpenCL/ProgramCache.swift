import Foundation
import OpenCLKit

/// Compiled programs kept on disk by (source, build options, device, driver), so a second run
/// does not compile again. A file that is corrupt, foreign or refused by the driver is ignored
/// with a warning and rewritten: the cache can only save time, never change a result.
final class ProgramCache {
    private let directory: URL
    private let warn: (String) -> Void
    /// What happened to each lookup: for tests and the results' notes.
    private(set) var hits = 0, misses = 0

    static let magic = "NODEBENCH-CLBIN 1"

    init(directory: URL, warn: @escaping (String) -> Void) {
        self.directory = directory
        self.warn = warn
    }

    static var defaultDirectory: URL { TunedParameters.cacheDirectory().appendingPathComponent("programs") }

    func program(source: String, options: String, context: Context) throws(OpenCLError) -> Program {
        let device = context.device
        let key = "source \(fnv1a(source)) options \(options) device \(device.name) driver \(device.driverVersion) platform \(device.platform.version)"
        let file = directory.appendingPathComponent(String(fnv1a(key), radix: 16) + ".clbin")
        if let binary = read(file, key: key) {
            do {
                let program = try context.buildProgram(binary: binary, options: options)
                hits += 1
                return program
            } catch {
                warn("ignoring cached program \(file.lastPathComponent): the driver refused it (\(error)); rebuilding")
            }
        }
        misses += 1
        let program = try context.buildProgram(source: source, options: options)
        if let binary = try? program.binary(), !binary.isEmpty {
            write(binary, key: key, to: file)
        }
        return program
    }

    /// The binary stored under `key`, or nil (with a warning when the file exists but is not ours).
    private func read(_ file: URL, key: String) -> [UInt8]? {
        guard let data = try? Data(contentsOf: file) else { return nil }
        let header = Data("\(ProgramCache.magic)\n\(key)\n".utf8)
        guard data.count > header.count, data.prefix(header.count) == header else {
            warn("ignoring cached program \(file.lastPathComponent): corrupt or written for another program; rebuilding")
            return nil
        }
        return [UInt8](data.dropFirst(header.count))
    }

    private func write(_ binary: [UInt8], key: String, to file: URL) {
        do {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try (Data("\(ProgramCache.magic)\n\(key)\n".utf8) + Data(binary)).write(to: file, options: .atomic)
        } catch {
            warn("cannot write the program cache \(file.path): \(error.localizedDescription)")
        }
    }
}

/// 64-bit FNV-1a: a stable hash for cache keys (not for security).
func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return hash
}
