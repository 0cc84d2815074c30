// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "NodeBench",
    products: [
        .executable(name: "nodebench", targets: ["nodebench"]),
        .library(name: "NodeBenchKit", targets: ["NodeBenchKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries, one system-library target each (see CSystemShims/*/shim.h).
        .systemLibrary(
            name: "COpenCL", path: "CSystemShims/COpenCL", pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev"])]),
        .systemLibrary(
            name: "CBLAS", path: "CSystemShims/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CCLBlast", path: "CSystemShims/CCLBlast", pkgConfig: "clblast",
            providers: [.apt(["libclblast-dev"])]),
        .systemLibrary(
            name: "CHwloc", path: "CSystemShims/CHwloc", pkgConfig: "hwloc",
            providers: [.apt(["libhwloc-dev"])]),

        // Safe Swift over each C library; no benchmark logic.
        .target(name: "OpenCLKit", dependencies: ["COpenCL"]),
        .target(name: "BLASKit", dependencies: ["CBLAS"]),
        .target(name: "HwlocKit", dependencies: ["CHwloc"]),
        .target(name: "CLBlastKit", dependencies: ["CCLBlast", "OpenCLKit"]),

        // Host compute and bandwidth probes in C, one variant per instruction set (release builds
        // compile C at -O2; the kernels' intrinsics and target attributes need nothing more).
        .target(name: "CHostProbes"),
        // The host's fused-attention softmax step in C, vectorized per instruction set.
        .target(name: "CHostKernels"),
        // Both as Swift, every buffer passed with its length.
        .target(name: "HostKernels", dependencies: ["CHostProbes", "CHostKernels"]),

        // Discovery, backends, workloads, measurement, verification, results.
        .target(name: "NodeBenchKit", dependencies: ["OpenCLKit", "BLASKit", "HwlocKit", "CLBlastKit", "HostKernels"]),

        // The command-line tool: one file per subcommand.
        .executableTarget(
            name: "nodebench",
            dependencies: [
                "NodeBenchKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "OpenCLKitTests", dependencies: ["OpenCLKit"]),
        .testTarget(name: "BLASKitTests", dependencies: ["BLASKit"]),
        .testTarget(name: "HwlocKitTests", dependencies: ["HwlocKit"]),
        .testTarget(name: "CLBlastKitTests", dependencies: ["CLBlastKit"]),
        .testTarget(name: "NodeBenchKitTests", dependencies: ["NodeBenchKit"]),
        .testTarget(name: "NodeBenchCLITests", dependencies: ["nodebench"]),
    ]
)
