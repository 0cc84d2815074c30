/// A named set of cases and how long to measure each.
public struct Suite: Sendable {
    public enum Name: String, CaseIterable, Sendable {
        /// For CI: the whole run in under a minute on a 2-core machine.
        case quick
        /// The default: transformer-sized GEMMs, a few minutes on a small node.
        case standard
        /// Everything: larger shapes and more samples.
        case full
    }

    public let name: String
    /// Cross products of shapes, layouts and element types.
    public let groups: [CaseGroup]
    public let sampling: SamplingPolicy

    public struct CaseGroup: Sendable {
        public var shapes: [GEMMShape]
        public var layouts: [GEMMLayout]
        public var dtypes: [DType]
        public var alpha: Double
        public var beta: Double

        public init(shapes: [GEMMShape], layouts: [GEMMLayout], dtypes: [DType], alpha: Double = 1, beta: Double = 0) {
            self.shapes = shapes
            self.layouts = layouts
            self.dtypes = dtypes
            self.alpha = alpha
            self.beta = beta
        }

        var cases: [GEMMCase] {
            dtypes.flatMap { dtype in
                layouts.flatMap { layout in
                    shapes.map { GEMMCase(shape: $0, layout: layout, dtype: dtype, alpha: alpha, beta: beta) }
                }
            }
        }
    }

    public init(name: String, groups: [CaseGroup], sampling: SamplingPolicy) {
        self.name = name
        self.groups = groups
        self.sampling = sampling
    }

    /// How long the peak probes run before the cases.
    public var peakPolicy: PeakPolicy { name == Name.quick.rawValue ? .quick : .standard }

    /// Every case once, in the order the groups list them.
    public var cases: [GEMMCase] {
        var seen = Set<GEMMCase>()
        return groups.flatMap(\.cases).filter { seen.insert($0).inserted }
    }

    public static func named(_ name: Name) -> Suite {
        let square = { (n: Int) in GEMMShape(m: n, n: n, k: n) }
        switch name {
        case .quick:
            return Suite(
                name: "quick",
                groups: [
                    CaseGroup(shapes: [square(256), GEMMShape(m: 255, n: 129, k: 67)], layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(shapes: [square(128)], layouts: [.nn], dtypes: [.fp64, .fp16, .bf16]),
                ],
                sampling: SamplingPolicy(warmupRuns: 1, minSamples: 3, minSeconds: 0.05, maxSamples: 50, maxSeconds: 1))
        case .standard:
            return Suite(
                name: "standard",
                groups: [
                    CaseGroup(shapes: [square(1024)], layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(shapes: [GEMMShape(m: 512, n: 4096, k: 1024), GEMMShape(m: 1000, n: 3000, k: 17)], layouts: [.nt], dtypes: [.fp32]),
                    CaseGroup(shapes: [square(1024)], layouts: [.nn], dtypes: [.fp64, .fp16, .bf16]),
                ],
                sampling: SamplingPolicy(warmupRuns: 1, minSamples: 3, minSeconds: 0.5, maxSamples: 100, maxSeconds: 5))
        case .full:
            return Suite(
                name: "full",
                groups: [
                    CaseGroup(shapes: [square(1024), square(2048), square(2047)], layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(
                        shapes: [GEMMShape(m: 512, n: 4096, k: 1024), GEMMShape(m: 4096, n: 4096, k: 1000), GEMMShape(m: 1000, n: 3000, k: 17)],
                        layouts: GEMMLayout.allCases, dtypes: [.fp32]),
                    CaseGroup(shapes: [square(1024), square(2048)], layouts: GEMMLayout.allCases, dtypes: [.fp64, .fp16, .bf16]),
                ],
                sampling: SamplingPolicy(warmupRuns: 2, minSamples: 5, minSeconds: 1, maxSamples: 200, maxSeconds: 10))
        }
    }

    /// The suite with some dimensions replaced: each non-empty list replaces the suite's for that
    /// dimension, and the cases are all their combinations, scaled by `alpha` and `beta`.
    public func selecting(
        shapes: [GEMMShape], layouts: [GEMMLayout], dtypes: [DType], alpha: Double = 1, beta: Double = 0
    ) -> Suite {
        if shapes.isEmpty && layouts.isEmpty && dtypes.isEmpty && alpha == 1 && beta == 0 { return self }
        let groups = shapes.isEmpty && layouts.isEmpty && dtypes.isEmpty
            ? self.groups.map { group in
                CaseGroup(shapes: group.shapes, layouts: group.layouts, dtypes: group.dtypes, alpha: alpha, beta: beta)
            }
            : [CaseGroup(
                shapes: shapes.isEmpty ? unique(cases.map(\.shape)) : shapes,
                layouts: layouts.isEmpty ? unique(cases.map(\.layout)) : layouts,
                dtypes: dtypes.isEmpty ? unique(cases.map(\.dtype)) : dtypes, alpha: alpha, beta: beta)]
        return Suite(name: name, groups: groups, sampling: sampling)
    }
}

private func unique<T: Hashable>(_ values: [T]) -> [T] {
    var seen = Set<T>()
    return values.filter { seen.insert($0).inserted }
}
