import ArgumentParser
import Foundation
import NodeBenchKit

@main
struct NodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodebench",
        abstract: "How fast, and how correctly, does this node run the kernels of LLM training?",
        version: ToolInfo.version,
        subcommands: [
            DevicesCommand.self, RunCommand.self, PeakCommand.self, TuneCommand.self, CompareCommand.self, CheckCommand.self,
            BaselineCommand.self, ReportCommand.self, FleetCommand.self,
        ])

    /// Parses and runs like ArgumentParser's own `main`, but reports errors in one line
    /// (`nodebench: error: ...`) with the exit codes the README documents.
    static func main() {
        let status = runCommand()
        // The devices' contexts and queues are released when the command is done, after its results
        // were written; a release the driver refused is still said.
        let unreleased = RunSession.unreportedReleaseFailures()
        if let first = unreleased.first {
            Console.note("warning: \(unreleased.count) OpenCL object(s) could not be released at exit (\(first)); check the device's health")
        }
        Foundation.exit(status)
    }

    private static func runCommand() -> Int32 {
        do {
            var command = try parseAsRoot()
            try command.run()
            return ExitStatus.ok.rawValue
        } catch let status as ExitCode {
            return status.rawValue
        } catch let failure as CommandFailure {
            Console.error(failure.message)
            return failure.status.rawValue
        } catch let usage as UsageError {
            Console.error(usage.description)
            return ExitStatus.usage.rawValue
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))  // --help, --version
                return 0
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            Console.error(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
            return code == .validationFailure ? ExitStatus.usage.rawValue : code.rawValue
        }
    }
}

/// Human output goes to stdout only when it is the command's answer; progress and warnings to stderr.
enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("nodebench: error: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    /// Refuses to let a debug build's timings pass unnoticed.
    static func warnIfDebugBuild(_ tool: ToolInfo) {
        if tool.buildConfiguration == "debug" {
            note("warning: this is a DEBUG build of nodebench; timings are not representative (build with -c release)")
        }
    }
}
