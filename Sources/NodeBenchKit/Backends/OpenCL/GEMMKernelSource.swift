/// The OpenCL GEMM kernel family: `C = alpha·op(A)·op(B) + beta·C`, row-major, any M, N, K, in
/// the NN, NT and TN layouts, for a batch of equal-shaped products stored one after another (the
/// third grid dimension picks the product; a lone GEMM is a batch of one).
///
/// Two packing kernels first copy op(A) into panels of `TM` rows and op(B) into panels of `TN`
/// vectors of `VW` columns, each panel contiguous along k, widened to the accumulation type and
/// padded with zeros to whole panels. The GEMM kernel then streams A panels and one B panel per
/// work-item: every layout reads memory the same way, no stride aliases in the caches, and only the
/// store of C needs a guard. A work-item multiplies a run of up to `RP` row panels by its column panel, one after
/// another, each keeping its `TM` x `TN`·`VW` block of C in `TM`·`TN` vector registers; with a
/// k block `KC` it walks all `RP` panels over one block of its B panel before the next (the
/// blocking of CPU BLAS libraries), so that block comes from the core's nearest cache. Packed A
/// is laid out k block by k block, so the `RP` blocks of one pass lie side by side in memory
/// rather than a whole panel of K apart (with K in the tens of thousands, an LM head's, they were
/// megabytes apart and the GEMM ran 0.7x its rate at K = 2048). A long K runs as several
/// launches of `KS` k each (`GEMMKernelParameters.kSlice`), each work-item's sums carried from one
/// to the next in the accumulation type, unrounded: within a launch the work-items of one row group
/// each stream that group's A slab, which has to stay in the last-level cache between them (at
/// K = 50257 the slab of 32 row panels is 38 MB).
/// Storage types: fp32, fp64, fp16 (vload_half, no cl_khr_fp16 needed), bf16 (ushort, widened by a
/// shift); sums in fp32 (fp64 for fp64). `A_FLOAT` and `C_FLOAT` keep A or C in fp32 whatever the
/// storage type, as attention's probabilities and scores are.
enum GEMMKernelSource {
    static let text = OpenCLStorageTypes.text + #"""
        #if defined(A_FLOAT)
        typedef float a_storage_t;
        #define LOAD_A(p, i) ((p)[i])
        #define LOADN_A(p, i, n) CAT(vload, n)(0, (p) + (i))
        #else
        typedef storage_t a_storage_t;
        #define LOAD_A(p, i) LOAD1(p, i)
        #define LOADN_A(p, i, n) LOADN(p, i, n)
        #endif
        #if defined(C_FLOAT)
        typedef float c_storage_t;
        #define LOAD_C1(p, i) ((p)[i])
        #define STORE_C1(p, i, v) ((p)[i] = (v))
        #define LOAD_CV(p, i) CAT(vload, VW)(0, (p) + (i))
        #define STORE_CV(p, i, v) CAT(vstore, VW)((v), 0, (p) + (i))
        #else
        typedef storage_t c_storage_t;
        #define LOAD_C1(p, i) LOAD1(p, i)
        #define STORE_C1(p, i, v) STORE1(p, i, v)
        #define LOAD_CV(p, i) LOADV(p, i)
        #define STORE_CV(p, i, v) STOREV(p, i, v)
        #endif

        /* Element (row, k) of op(A) and (k, col) of op(B) in row-major storage. */
        #if defined(A_TRANS)
        #define A_AT(row, k) ((size_t)(k) * M + (row))
        #else
        #define A_AT(row, k) ((size_t)(row) * K + (k))
        #endif
        #if defined(B_TRANS)
        #define B_AT(k, col) ((size_t)(col) * K + (k))
        #else
        #define B_AT(k, col) ((size_t)(k) * N + (col))
        #endif

        /* The packing kernels read along the dimension an operand is stored contiguously in: one k and a
           whole panel per work-item where the panel's elements sit side by side, else PK consecutive k of
           each of the panel's rows or columns (PK: `GEMMKernelParameters.packedKBlock`). Whole blocks take a path
           without guards. */

        /* Where element (panel, k) of a batch's packed A starts: the panels are laid out k block by k block
           (KC; all of K when KC is 0), so the blocks one pass of the GEMM reads lie side by side. */
        inline size_t packed_a_at(const int rowPanels, const int K, const size_t batch, const int panel, const int k) {
            const int kStep = KC > 0 ? KC : K, block0 = k / kStep * kStep, blockLength = min(kStep, K - block0);
            return ((batch * rowPanels) * (size_t)K + (size_t)block0 * rowPanels + (size_t)panel * blockLength + (k - block0)) * TM;
        }

        /* Ap[block][panel][k][r] = op(A)[panel * TM + r][k], zero past the last row.
           Grid: (K, row panels, batch) for a transposed A, else (K / PK rounded up, row panels, batch). */
        __kernel void pack_a(const int M, const int K, __global const a_storage_t *restrict A, __global acc_t *restrict Ap) {
            const int panel = get_global_id(1), panels = (M + TM - 1) / TM;
            const size_t batch = get_global_id(2);
            A += batch * M * K;
        #if defined(A_TRANS)
            const int k = get_global_id(0);
            if (k >= K || panel * TM >= M) return;
            __global acc_t *out = Ap + packed_a_at(panels, K, batch, panel, k);
            if (panel * TM + TM <= M) {
                #pragma unroll
                for (int r = 0; r < TM; ++r) out[r] = LOAD_A(A, A_AT(panel * TM + r, k));
                return;
            }
            for (int r = 0; r < TM; ++r) {
                const int row = panel * TM + r;
                out[r] = row < M ? LOAD_A(A, A_AT(row, k)) : (acc_t)0;
            }
        #else
            const int k0 = get_global_id(0) * PK;
            if (k0 >= K || panel * TM >= M) return;
            /* The PK k lie side by side in Ap unless a k block ends among them. */
            const int kStep = KC > 0 ? KC : K;
            __global acc_t *out = Ap + packed_a_at(panels, K, batch, panel, k0);
            if (panel * TM + TM <= M && k0 + PK <= K && k0 / kStep == (k0 + PK - 1) / kStep) {
                acc_t row[PK];
                #pragma unroll
                for (int r = 0; r < TM; ++r) {
                    CAT(vstore, PK)(LOADN_A(A, A_AT(panel * TM + r, k0), PK), 0, row);
                    #pragma unroll
                    for (int kk = 0; kk < PK; ++kk) out[kk * TM + r] = row[kk];
                }
                return;
            }
            for (int kk = 0; kk < PK && k0 + kk < K; ++kk) {
                out = Ap + packed_a_at(panels, K, batch, panel, k0 + kk);
                for (int r = 0; r < TM; ++r) {
                    const int row = panel * TM + r;
                    out[r] = row < M ? LOAD_A(A, A_AT(row, k0 + kk)) : (acc_t)0;
                }
            }
        #endif
        }

        /* A work-item's columns: TN vectors of VW lanes. */
        #define PW (VW * TN)

        /* Bp[panel][k][v] = op(B)[k][panel * PW + v], zero past the last column.
           Grid: (column panels, K, batch), or (K / PK rounded up, column panels, batch) for a transposed B. */
        __kernel void pack_b(const int K, const int N, __global const storage_t *restrict B, __global acc_t *restrict Bp) {
            const size_t batch = get_global_id(2);
            B += batch * K * N;
        #if defined(B_TRANS)
            const int k0 = get_global_id(0) * PK, panel = get_global_id(1);
            if (k0 >= K || panel * PW >= N) return;
            const size_t panels = (N + PW - 1) / PW;
            __global acc_t *out = Bp + ((batch * panels + panel) * K + k0) * PW;
            if (panel * PW + PW <= N && k0 + PK <= K) {
                acc_t column[PK];
                #pragma unroll
                for (int v = 0; v < PW; ++v) {
                    CAT(vstore, PK)(LOADN(B, B_AT(k0, panel * PW + v), PK), 0, column);
                    #pragma unroll
                    for (int kk = 0; kk < PK; ++kk) out[kk * PW + v] = column[kk];
                }
                return;
            }
            for (int v = 0; v < PW; ++v) {
                const int col = panel * PW + v;
                for (int kk = 0; kk < PK && k0 + kk < K; ++kk) out[kk * PW + v] = col < N ? LOAD1(B, B_AT(k0 + kk, col)) : (acc_t)0;
            }
        #else
            const int panel = get_global_id(0), k = get_global_id(1);
            if (k >= K || panel * PW >= N) return;
            const size_t panels = (N + PW - 1) / PW;
            __global acc_t *out = Bp + ((batch * panels + panel) * K + k) * PW;
            if (panel * PW + PW <= N) {
                #pragma unroll
                for (int j = 0; j < TN; ++j) CAT(vstore, VW)(LOADV(B, B_AT(k, panel * PW + j * VW)), j, out);
                return;
            }
            for (int v = 0; v < PW; ++v) {
                const int col = panel * PW + v;
                out[v] = col < N ? LOAD1(B, B_AT(k, col)) : (acc_t)0;
            }
        #endif
        }

        /* C blocks (this row group's row panels, column panel) = alpha * Ap[row panel] . Bp[column panel] + beta * C,
           the row panels split into rowGroups runs of at most RP, summed over k in kBegin ..< kEnd: the sums start from `partial` unless
           kBegin is 0, and go back there unless kEnd is K (kBegin a multiple of KC). That range is walked in blocks
           of KC (all of K when KC is 0); each block of the B panel serves all the row panels before the next, so it
           is read from the core's nearest cache. */
        __kernel __attribute__((reqd_work_group_size(WGX, WGY, 1)))
        void gemm(const int M, const int N, const int K, const int kBegin, const int kEnd, const int rowGroups, const acc_t alpha,
                  const acc_t beta, __global const acc_t *restrict Ap, __global const acc_t *restrict Bp, __global accv_t *restrict partial,
                  __global c_storage_t *restrict C) {
            const int colPanel = get_global_id(0), rowGroup = get_global_id(1), panelCol0 = colPanel * PW;
            const int rowPanels = (M + TM - 1) / TM, colPanels = (N + PW - 1) / PW;
            if (rowGroup >= rowGroups || panelCol0 >= N) return;
            const int firstRowPanel = RP == 1 ? rowGroup : (int)((long)rowGroup * rowPanels / rowGroups);
            const int panelsHere = RP == 1 ? 1 : (int)((long)(rowGroup + 1) * rowPanels / rowGroups) - firstRowPanel;
            const int kStep = KC > 0 ? KC : K;
            const size_t batch = get_global_id(2);
            __global const acc_t *b = Bp + (batch * colPanels + colPanel) * K * PW;
            C += batch * M * N;

            /* Where this work-item's sums over earlier launches' k lie, in its registers' order. */
            partial += ((batch * rowPanels + firstRowPanel) * colPanels + colPanel) * (TM * TN);
            #define PARTIAL(p, r, j) partial[((p) * colPanels * TM + (r)) * TN + (j)]
            accv_t acc[RP][TM][TN];
            for (int p = 0; p < RP; ++p)
                for (int r = 0; r < TM; ++r)
                    for (int j = 0; j < TN; ++j) acc[p][r][j] = kBegin > 0 && p < panelsHere ? PARTIAL(p, r, j) : (accv_t)0;
            for (int k0 = kBegin; k0 < kEnd; k0 += kStep) {
                const int blockEnd = min(kEnd, k0 + kStep);
                #pragma unroll 1
                for (int p = 0; p < panelsHere; ++p) {
                    /* Offset so that a[k * TM + r] is element (k, r) of this panel's block. */
                    __global const acc_t *a = Ap + packed_a_at(rowPanels, K, batch, firstRowPanel + p, k0) - (size_t)k0 * TM;
                    /* The panel's sums in registers for the block, not in the private array. */
                    accv_t sum[TM][TN];
                    #pragma unroll
                    for (int r = 0; r < TM; ++r)
                        #pragma unroll
                        for (int j = 0; j < TN; ++j) sum[r][j] = acc[p][r][j];
                    for (int k = k0; k < blockEnd; ++k) {
                        accv_t bk[TN];
                        #pragma unroll
                        for (int j = 0; j < TN; ++j) bk[j] = CAT(vload, VW)((size_t)k * TN + j, b);
                        #pragma unroll
                        for (int r = 0; r < TM; ++r) {
                            const accv_t ar = (accv_t)a[(size_t)k * TM + r];
                            #pragma unroll
                            for (int j = 0; j < TN; ++j) sum[r][j] = fma(ar, bk[j], sum[r][j]);
                        }
                    }
                    #pragma unroll
                    for (int r = 0; r < TM; ++r)
                        #pragma unroll
                        for (int j = 0; j < TN; ++j) acc[p][r][j] = sum[r][j];
                }
            }

            if (kEnd < K) {
                for (int p = 0; p < panelsHere; ++p)
                    for (int r = 0; r < TM; ++r)
                        for (int j = 0; j < TN; ++j) PARTIAL(p, r, j) = acc[p][r][j];
                return;
            }
            for (int p = 0; p < panelsHere; ++p) {
                const int row0 = (firstRowPanel + p) * TM;
                for (int j = 0; j < TN; ++j) {
                    const int col0 = panelCol0 + j * VW;
                    for (int r = 0; r < TM && row0 + r < M && col0 < N; ++r) {
                        const size_t at = (size_t)(row0 + r) * N + col0;
                        if (col0 + VW <= N) {
                            accv_t out = alpha * acc[p][r][j];
                            if (beta != (acc_t)0) out += beta * LOAD_CV(C, at);
                            STORE_CV(C, at, out);
                        } else {
                            acc_t lanes[VW];
                            CAT(vstore, VW)(acc[p][r][j], 0, lanes);
                            for (int v = 0; v < VW && col0 + v < N; ++v) {
                                acc_t out = alpha * lanes[v];
                                if (beta != (acc_t)0) out += beta * LOAD_C1(C, at + v);
                                STORE_C1(C, at + v, out);
                            }
                        }
                    }
                }
            }
        }
        """#
}

/// The compile-time parameters of one GEMM kernel, as the tuner searches and caches them.
public struct GEMMKernelParameters: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Rows of C per work-item.
    public var tileRows: Int
    /// Lanes of one vector of C's columns (2, 4, 8 or 16).
    public var vectorWidth: Int
    /// Vectors of columns per work-item: each A element loaded serves this many FMAs.
    public var columnVectors: Int
    /// Work-group size along the columns and the rows of C.
    public var groupColumns: Int
    public var groupRows: Int
    /// Row panels one work-item multiplies by its column panel, one after another (at most: a
    /// product with too few panels to keep every compute unit busy gives each work-item fewer).
    public var rowPanelsPerItem: Int
    /// k per pass over those row panels; 0 is all of K.
    public var kBlock: Int
    /// k per launch of the GEMM kernel, a multiple of `kBlock`; a longer K runs as several
    /// launches, the sums carried between them in the accumulation type. 0 is all of K.
    public var kSlice: Int

    public init(
        tileRows: Int, vectorWidth: Int, columnVectors: Int = 1, groupColumns: Int, groupRows: Int, rowPanelsPerItem: Int = 1, kBlock: Int = 0,
        kSlice: Int = 0
    ) {
        self.tileRows = tileRows
        self.vectorWidth = vectorWidth
        self.columnVectors = columnVectors
        self.groupColumns = groupColumns
        self.groupRows = groupRows
        self.rowPanelsPerItem = rowPanelsPerItem
        self.kBlock = kBlock
        self.kSlice = kSlice
    }

    public var description: String {
        "TM=\(tileRows) VW=\(vectorWidth)" + (columnVectors > 1 ? " TN=\(columnVectors)" : "") + " WG=\(groupColumns)x\(groupRows)"
            + (rowPanelsPerItem > 1 ? " RP=\(rowPanelsPerItem)" : "") + (kBlock > 0 ? " KC=\(kBlock)" : "")
            + (kSlice > 0 ? " KS=\(kSlice)" : "")
    }

    /// Columns of C one work-item covers: one packed B panel.
    var panelColumns: Int { vectorWidth * columnVectors }

    /// Consecutive k one packing work-item takes from an operand stored with k contiguous (`PK`).
    static let packedKBlock = 16

    func buildOptions(dtype: DType, layout: GEMMLayout) -> String {
        "\(dtype.kernelTypeOption) -D TM=\(tileRows) -D VW=\(vectorWidth) -D TN=\(columnVectors) -D WGX=\(groupColumns) -D WGY=\(groupRows)"
            + " -D PK=\(Self.packedKBlock) -D RP=\(rowPanelsPerItem) -D KC=\(kBlock)"
            + (layout.transposesA ? " -D A_TRANS" : "") + (layout.transposesB ? " -D B_TRANS" : "")
    }

    /// Why these parameters cannot run on a device with this work-group limit, or nil.
    func violation(maxWorkGroupSize: Int) -> String? {
        if ![2, 4, 8, 16].contains(vectorWidth) { return "vector width \(vectorWidth) is not 2, 4, 8 or 16" }
        if !(1...16).contains(tileRows) { return "tile rows \(tileRows) outside 1...16" }
        if !(1...4).contains(columnVectors) { return "column vectors \(columnVectors) outside 1...4" }
        if !(1...64).contains(rowPanelsPerItem) { return "row panels per work-item \(rowPanelsPerItem) outside 1...64" }
        if kBlock < 0 { return "k block \(kBlock) is negative" }
        if kSlice < 0 || (kSlice > 0 && (kBlock == 0 || kSlice % kBlock != 0)) {
            return "k per launch \(kSlice) is not a multiple of the k block \(kBlock)"
        }
        if groupColumns < 1 || groupRows < 1 || groupColumns * groupRows > maxWorkGroupSize {
            return "work-group \(groupColumns)x\(groupRows) exceeds the device's \(maxWorkGroupSize)"
        }
        return nil
    }

    /// Good starting points without tuning. CPUs want few work-items with wide vectors and tall
    /// register tiles, in work-groups one column panel wide and 8 row panels tall: a CPU runs a
    /// group's work-items one after another, so its B panel is read once from memory and 7 times
    /// from the core's cache (on a 2-core EPYC, 4096^3 ran at 0.97x the 2048^3 rate, against 0.74x
    /// with 2 x 2 groups, and smaller shapes as fast). CPUs with 16-float vectors (AVX-512, 32
    /// registers) hold a 12 x 32 tile: 24 accumulators, each A element loaded feeding two FMAs
    /// (on that EPYC 1.10x the 8 x 16 tile at 2048^3). AVX2's 16 registers hold a 6 x 16 tile: 12
    /// accumulators, two B vectors and A's broadcast (on a 2-core Zen 3 EPYC the tuner measured it at
    /// 182-187 GFLOP/s on 2047x2049x1024, the 8 x 16 tile, whose accumulators alone fill the 16
    /// registers, at 87). That tile is also cache-blocked: one work-item takes 32 row panels over
    /// k blocks of 256, so each 16 KB block of its B panel stays in L1 while the 32 A blocks
    /// (192 KB) come from L2 (on that Zen 3, against OpenBLAS in the same runs, 2048^3 over NN, NT
    /// and TN went from 0.88-0.97x to 0.95-1.05x and 4096^3 from 0.81-0.90x to 1.00-1.10x;
    /// `results/reference/gemm-cache-blocking-AMD-EPYC-zen3.txt`). It takes K 4096 a launch, so
    /// a row group's A slab (3 MB) stays in the last-level cache from one column panel to the next
    /// (on that Zen 3, 512x768x50257, the LM head's input gradient, went from 133 to 164 GFLOP/s NN,
    /// 0.89-0.90x OpenBLAS; slices of 1024 to 8192 ran level; `results/reference/gemm-long-k-AMD-EPYC-zen3.txt`).
    /// The AVX-512 tile stays unblocked: on a 2-core Zen 4 (L2 1 MiB) it ran level with itself
    /// blocked (32 row panels, k blocks of 128, K 4096 a launch) and with the AVX2 tile blocked, over
    /// NN, NT and TN at 2048^3, 4096^3, 2047x2049x1023 and 512x3072x768 (0.82-0.95x the device's
    /// measured fp32 peak) and 512x768x50257 (`results/reference/gemm-avx512-blocking-AMD-EPYC-zen4.txt`).
    /// GPUs want many work-items with small tiles.
    static func defaults(isCPU: Bool, nativeFloats: Int, dtype: DType) -> GEMMKernelParameters {
        let lanes = dtype == .fp64 ? 8 : 16
        if isCPU && nativeFloats >= 16 {
            return GEMMKernelParameters(tileRows: 12, vectorWidth: lanes, columnVectors: 2, groupColumns: 1, groupRows: 8)
        }
        if isCPU {
            return GEMMKernelParameters(
                tileRows: 6, vectorWidth: lanes, groupColumns: 1, groupRows: 1, rowPanelsPerItem: 32, kBlock: 256, kSlice: 4096)
        }
        return GEMMKernelParameters(tileRows: 4, vectorWidth: 4, groupColumns: 16, groupRows: 16)
    }
}

extension GEMMKernelParameters {
    /// Tuning files written before `columnVectors`, `rowPanelsPerItem`, `kBlock` and `kSlice`
    /// existed read as one vector, one row panel, and all of K per work-item and per launch.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            tileRows: try container.decode(Int.self, forKey: .tileRows), vectorWidth: try container.decode(Int.self, forKey: .vectorWidth),
            columnVectors: try container.decodeIfPresent(Int.self, forKey: .columnVectors) ?? 1,
            groupColumns: try container.decode(Int.self, forKey: .groupColumns), groupRows: try container.decode(Int.self, forKey: .groupRows),
            rowPanelsPerItem: try container.decodeIfPresent(Int.self, forKey: .rowPanelsPerItem) ?? 1,
            kBlock: try container.decodeIfPresent(Int.self, forKey: .kBlock) ?? 0,
            kSlice: try container.decodeIfPresent(Int.self, forKey: .kSlice) ?? 0)
    }
}
