import Foundation

/// A file a command writes besides its result file (a report, a comparison for CI, a baseline):
/// written whole or not at all, its folder made when missing; a failure is one line with exit
/// status 74.
public enum OutputFile {
    public static func write(_ data: Data, to url: URL) throws(CommandFailure) {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url, options: .atomic)
        } catch {
            throw CommandFailure(status: .ioError, message: "cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    public static func write(_ text: String, to path: String) throws(CommandFailure) {
        try write(Data(text.utf8), to: URL(fileURLWithPath: path))
    }
}

/// Result files as commands read them: a file that cannot be used is a one-line usage error that
/// names the role it was given (`baseline`, `--from`, ...).
extension RunDocument {
    public static func load(path: String, role: String) throws(CommandFailure) -> RunDocument {
        do {
            return try load(from: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure(status: .usage, message: "\(role): \(error.description)")
        }
    }

    /// Several result files as one document of several runs.
    public static func load(paths: [String], role: String) throws(CommandFailure) -> RunDocument {
        var documents: [RunDocument] = []
        for path in paths { documents.append(try load(path: path, role: role)) }
        do {
            return try merging(documents, names: paths)
        } catch {
            throw CommandFailure(status: .usage, message: "\(role): \(error.description)")
        }
    }
}
