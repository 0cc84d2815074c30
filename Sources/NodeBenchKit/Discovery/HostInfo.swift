import Foundation

/// The host's name, operating system and kernel, for the context of every result.
public struct HostInfo: Codable, Sendable, Equatable {
    public var hostname: String
    public var operatingSystem: String
    public var kernel: String
    public var architecture: String
    public var logicalCPUs: Int
    public var physicalMemoryBytes: UInt64

    public static func current() -> HostInfo {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let process = ProcessInfo.processInfo
        return HostInfo(
            hostname: process.hostName,
            operatingSystem: osReleaseName() ?? field(name.sysname),
            kernel: "\(field(name.sysname)) \(field(name.release))",
            architecture: field(name.machine),
            logicalCPUs: process.activeProcessorCount,
            physicalMemoryBytes: process.physicalMemory)
    }

    /// PRETTY_NAME from /etc/os-release, e.g. "Debian GNU/Linux 12 (bookworm)".
    private static func osReleaseName() -> String? {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }
}
