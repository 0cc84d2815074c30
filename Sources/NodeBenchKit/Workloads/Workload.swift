/// One case of any kernel, as suites list them and the runner runs them.
public enum Workload: Hashable, Sendable, CustomStringConvertible {
    case gemm(GEMMCase)
    case attention(AttentionCase)
    case layer(LayerOpCase)

    public var kernel: KernelKind {
        switch self {
        case .gemm: .gemm
        case .attention: .attention
        case .layer: .layer
        }
    }

    public var dtype: DType {
        switch self {
        case .gemm(let gemm): gemm.dtype
        case .attention(let attention): attention.dtype
        case .layer(let layerOp): layerOp.dtype
        }
    }

    public var flops: Double {
        switch self {
        case .gemm(let gemm): gemm.shape.flops
        case .attention(let attention): attention.flops
        case .layer(let layerOp): layerOp.flops
        }
    }

    public var description: String {
        switch self {
        case .gemm(let gemm): gemm.description
        case .attention(let attention): attention.description
        case .layer(let layerOp): layerOp.description
        }
    }
}
