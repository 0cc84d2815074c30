import Foundation

/// OpenCL drivers installed on the node that the ICD loader cannot see because no vendor file
/// names them: inside containers, NVIDIA's `libnvidia-opencl.so.1` is often mounted with the
/// driver while `/etc/OpenCL/vendors/nvidia.icd` is not, so the GPU is invisible to OpenCL.
struct UnregisteredDrivers {
    /// Driver libraries by the vendor file that would register them.
    static let known = [("libnvidia-opencl.so.1", "nvidia.icd"), ("libamdocl64.so", "amdocl64.icd")]
    static let libraryFolders = [
        "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/nvidia/lib64",
        "/usr/local/nvidia/lib", "/opt/rocm/lib",
    ]

    let libraryFolders: [String]
    /// The folder the ICD loader reads: `OCL_ICD_VENDORS` if it names a folder, else /etc/OpenCL/vendors.
    let vendorFolder: String

    init(environment: [String: String] = ProcessInfo.processInfo.environment, libraryFolders: [String] = UnregisteredDrivers.libraryFolders) {
        self.libraryFolders = libraryFolders
        var isFolder: ObjCBool = false
        let fromEnvironment = environment["OCL_ICD_VENDORS"].flatMap {
            FileManager.default.fileExists(atPath: $0, isDirectory: &isFolder) && isFolder.boolValue ? $0 : nil
        }
        vendorFolder = fromEnvironment ?? "/etc/OpenCL/vendors"
    }

    /// One line per driver found but not registered, with the fix.
    func problems() -> [String] {
        let registered = ((try? FileManager.default.contentsOfDirectory(atPath: vendorFolder)) ?? []).compactMap { name in
            try? String(contentsOfFile: vendorFolder + "/" + name, encoding: .utf8)
        }.joined(separator: "\n")
        return Self.known.compactMap { library, vendorFile in
            guard !registered.contains(library),
                let folder = libraryFolders.first(where: { FileManager.default.fileExists(atPath: $0 + "/" + library) })
            else { return nil }
            return "OpenCL driver \(folder)/\(library) is installed but no ICD file in \(vendorFolder) names it, so OpenCL cannot see its "
                + "devices; fix: echo \(library) > \(vendorFolder)/\(vendorFile) (or write that file into a folder of your own and set "
                + "OCL_ICD_VENDORS to the folder)"
        }
    }
}
