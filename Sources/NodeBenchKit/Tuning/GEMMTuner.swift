import Foundation
import OpenCLKit

/// Searches the GEMM kernel's parameters on one OpenCL device: every candidate that fits the
/// device is first verified on an odd shape, then timed on its size class's tuning shape; the
/// fastest correct one wins.
public final class GEMMTuner {
    private let backend: OpenCLGEMMBackend
    private let seed: UInt64

    /// Sets up the device; fails only if the device cannot be used at all.
    public init(device: DeviceDescriptor, inventory: NodeInventory, seed: UInt64 = 42) throws {
        backend = try OpenCLGEMMBackend(device: try inventory.tunableDevice(device))
        self.seed = seed
    }

    /// Candidates in the order they are tried: the device type's default first, then the rest of
    /// the space for that type, each tile with one and two column vectors, each within the
    /// device's work-group limit. On CPUs each tile is also tried cache-blocked: one work-item per
    /// group taking 16 or 32 row panels over k blocks of 256 or 512, 16 blocks a launch (a GPU's
    /// private memory would spill so many tiles).
    static func searchSpace(isCPU: Bool, nativeFloats: Int, dtype: DType, maxWorkGroupSize: Int) -> [GEMMKernelParameters] {
        let widths = isCPU ? (dtype == .fp64 ? [4, 8] : [8, 16]) : [2, 4]
        let rows = isCPU ? [4, 6, 8, 12] : [1, 2, 4, 8]
        let groups = isCPU ? [(1, 8), (2, 2), (1, 4), (4, 4), (1, 1)] : [(8, 8), (16, 8), (16, 16), (32, 8)]
        let blockings = isCPU ? [(1, 0, 0), (32, 256, 4096), (16, 512, 8192)] : [(1, 0, 0)]
        var space = [GEMMKernelParameters.defaults(isCPU: isCPU, nativeFloats: nativeFloats, dtype: dtype)]
        for width in widths {
            for tileRows in rows {
                for (columns, groupRows) in groups {
                    for (rowPanels, kBlock, kSlice) in blockings where rowPanels == 1 || (columns, groupRows) == (1, 1) {
                        for columnVectors in [1, 2] {
                            let candidate = GEMMKernelParameters(
                                tileRows: tileRows, vectorWidth: width, columnVectors: columnVectors, groupColumns: columns, groupRows: groupRows,
                                rowPanelsPerItem: rowPanels, kBlock: kBlock, kSlice: kSlice)
                            if !space.contains(candidate) { space.append(candidate) }
                        }
                    }
                }
            }
        }
        return space.filter { $0.violation(maxWorkGroupSize: maxWorkGroupSize) == nil }
    }

    public typealias Progress = TuningProgress<GEMMKernelParameters>

    /// Tunes one type, layout and size class within `budgetSeconds`; nil if no candidate passed.
    public func tune(
        dtype: DType, layout: GEMMLayout, sizeClass: SizeClass, budgetSeconds: Double, progress: (Progress) -> Void
    ) -> TunedParameters.Entry? {
        let deadline = MonotonicClock.now() + budgetSeconds
        let checkCase = GEMMCase(shape: GEMMShape(m: 67, n: 45, k: 33), layout: layout, dtype: dtype)
        let checkInputs = GEMMInputs(gemm: checkCase, seed: seed)
        let checkReference = GEMMReference(checkInputs)
        let timedCase = GEMMCase(shape: sizeClass.tuningShape, layout: layout, dtype: dtype)
        if backend.unsupportedReason(timedCase) != nil || backend.unsupportedReason(checkCase) != nil { return nil }
        let timedInputs = GEMMInputs(gemm: timedCase, seed: seed)

        let device = backend.openCLDevice
        let space = Self.searchSpace(
            isCPU: device.isCPU, nativeFloats: device.nativeFloatVectorWidth, dtype: dtype, maxWorkGroupSize: device.maxWorkGroupSize)
        let best = fastestCandidate(
            space, timedOn: timedCase.shape.description, deadline: deadline, flops: timedCase.shape.flops, verify: checkReference.verify,
            check: { try backend.prepare(checkInputs, parameters: $0, parameterSource: "candidate") },
            timed: { try backend.prepare(timedInputs, parameters: $0, parameterSource: "candidate") }, progress: progress)
        guard let (parameters, gflops) = best else { return nil }
        return TunedParameters.Entry(
            device: backend.openCLDevice.name, driver: backend.openCLDevice.driverVersion, dtype: dtype, layout: layout,
            sizeClass: sizeClass, parameters: parameters, gflops: gflops, tunedAt: Timestamp.now())
    }
}
