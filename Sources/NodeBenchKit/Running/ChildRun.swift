import Foundation

/// `nodebench run` in a child process, its result file read back: for a run with another
/// environment (`OPENBLAS_CORETYPE` is read only when the library loads) or on behalf of `check`.
public struct ChildRun {
    public let executable: URL
    public let arguments: [String]
    public var environment: [String: String] = [:]
    /// Where the child's progress goes; nil discards it.
    public var progress: FileHandle? = nil

    public init(executable: URL, arguments: [String], environment: [String: String] = [:], progress: FileHandle? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.progress = progress
    }

    /// This executable, as `/proc/self/exe` names it.
    public static var currentExecutable: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath() }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public let status: Int32
    }

    /// The child's document and exit status; 0 and 1 (a case failed, which its results say) return,
    /// anything else throws.
    public func run() throws -> (document: RunDocument, status: Int32) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("nodebench-child-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["run"] + arguments + ["--output", output.path]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = progress ?? FileHandle.nullDevice
        process.standardError = progress ?? FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus <= ExitStatus.caseFailed.rawValue else {
            throw Failure(description: "`nodebench run \(arguments.joined(separator: " "))` exited with status \(process.terminationStatus)", status: process.terminationStatus)
        }
        do {
            return (try RunDocument.load(from: output), process.terminationStatus)
        } catch {
            throw Failure(description: error.description, status: ExitStatus.ioError.rawValue)
        }
    }

    /// `nodebench run ARGUMENTS` in `count` child processes one after another (their progress to
    /// `progress`), merged into one document of several runs; a run that could not finish ends it
    /// with that run's exit status.
    public static func runs(
        _ arguments: [String], count: Int, tag: String, progress: FileHandle?, log: (String) -> Void
    ) throws(CommandFailure) -> RunDocument {
        var documents: [RunDocument] = []
        for run in 1...count {
            log("[\(tag) \(run)/\(count)] nodebench run \(arguments.joined(separator: " "))")
            do {
                documents.append(try ChildRun(executable: currentExecutable, arguments: arguments, progress: progress).run().document)
            } catch let failure as Failure {
                throw CommandFailure(status: ExitStatus(rawValue: failure.status) ?? .caseFailed, message: failure.description)
            } catch {
                throw CommandFailure(status: .caseFailed, message: "\(tag): cannot start `nodebench run`: \(error.localizedDescription)")
            }
        }
        do {
            return try RunDocument.merging(documents, names: (1...count).map { "run \($0)" })
        } catch {
            throw CommandFailure(status: .caseFailed, message: "\(tag): \(error.description)")
        }
    }
}
