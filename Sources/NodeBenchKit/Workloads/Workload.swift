/// One case of any kernel, as suites list them and the runner runs them.
public enum Workload: Hashable, Sendable, CustomStringConvertible {
    case gemm(GEMMCase)
    case attention(AttentionCase)

    public var kernel: KernelKind {
        switch self {
        case .gemm: .gemm
        case .attention: .attention
        }
    }

    public var dtype: DType {
        switch self {
        case .gemm(let gemm): gemm.dtype
        case .attention(let attention): attention.dtype
        }
    }

    public var flops: Double {
        switch self {
        case .gemm(let gemm): gemm.shape.flops
        case .attention(let attention): attention.flops
        }
    }

    public var description: String {
        switch self {
        case .gemm(let gemm): gemm.description
        case .attention(let attention): attention.description
        }
    }
}
