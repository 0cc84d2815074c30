/// OpenCL attention kernels: Q `[B][H][S][HD]`, K and V `[B][HKV][S][HD]`, O like Q, all in the
/// storage type; scores, softmax and sums in fp32. Compile-time: `HD` (head dimension), `CAUSAL`,
/// and for the flash kernel `FLASH`, `TM`, `VW`, `WG` and `HDP` (HD padded to whole vectors).
///
/// `naive_*`: the baseline. One work-item per score writes the `B·H·S·S` score matrix, one per row
/// turns it into probabilities, one per output element multiplies by V.
///
/// `flash`: FlashAttention-2's loop order in one kernel. Packing first widens Q (scaled by
/// log2(e)/√HD, so the softmax can use exp2), K (in panels of `VW` keys, each panel contiguous
/// along the head dimension) and V (rows padded to whole panels) to fp32, zero-padded. Each
/// work-item then owns `TM` query rows: it streams key panels, computing `TM` x `VW` scores as
/// `HD` vector FMAs, updates the running maximum and sum (online softmax), rescales its `TM` x
/// `HDP` output accumulator and adds P·V; it normalizes once at the end and stores the row's
/// logsumexp for a backward pass. No score matrix exists in memory, and causal masking stops the
/// key loop at the work-item's last row.
///
/// `backward_*`: the flash backward from the forward's O and logsumexps (see the kernels).
enum AttentionKernelSource {
    static let text = OpenCLStorageTypes.text + "\n" + #"""
        #ifndef CAUSAL
        #define CAUSAL 0
        #endif

        /* --- naive ------------------------------------------------------------------------- */

        /* scores[bh][i][j] = scale * q_i . k_j, or -INFINITY where masked. Grid: (S, S, B*H). */
        __kernel void naive_scores(const int S, const int H, const int HKV, const float scale,
                                   __global const storage_t *restrict Q, __global const storage_t *restrict K,
                                   __global float *restrict scores) {
            const int j = get_global_id(0), i = get_global_id(1), bh = get_global_id(2);
            if (i >= S || j >= S) return;
            const int bkv = (bh / H) * HKV + (bh % H) / (H / HKV);
            float dot = 0;
            if (!CAUSAL || j <= i) {
                const size_t q = ((size_t)bh * S + i) * HD, k = ((size_t)bkv * S + j) * HD;
                for (int x = 0; x < HD; ++x) dot = fma(LOAD1(Q, q + x), LOAD1(K, k + x), dot);
            }
            scores[((size_t)bh * S + i) * S + j] = (!CAUSAL || j <= i) ? dot * scale : -INFINITY;
        }

        /* Row i of scores becomes softmax probabilities; lse[bh][i] its logsumexp. Grid: (S, B*H). */
        __kernel void naive_softmax(const int S, __global float *restrict scores, __global float *restrict lse) {
            const int i = get_global_id(0), bh = get_global_id(1);
            if (i >= S) return;
            __global float *row = scores + ((size_t)bh * S + i) * S;
            const int keys = CAUSAL ? i + 1 : S;
            float m = -INFINITY, sum = 0;
            for (int j = 0; j < keys; ++j) m = fmax(m, row[j]);
            for (int j = 0; j < keys; ++j) sum += exp(row[j] - m);
            const float inverse = 1.0f / sum;
            for (int j = 0; j < keys; ++j) row[j] = exp(row[j] - m) * inverse;
            lse[(size_t)bh * S + i] = m + log(sum);
        }

        /* O[bh][i][x] = sum_j P[i][j] * V[j][x]. Grid: (HD, S, B*H). */
        __kernel void naive_pv(const int S, const int H, const int HKV, __global const float *restrict probabilities,
                               __global const storage_t *restrict V, __global storage_t *restrict O) {
            const int x = get_global_id(0), i = get_global_id(1), bh = get_global_id(2);
            if (x >= HD || i >= S) return;
            const int bkv = (bh / H) * HKV + (bh % H) / (H / HKV);
            __global const float *p = probabilities + ((size_t)bh * S + i) * S;
            const size_t v = (size_t)bkv * S * HD + x;
            const int keys = CAUSAL ? i + 1 : S;
            float sum = 0;
            for (int j = 0; j < keys; ++j) sum = fma(p[j], LOAD1(V, v + (size_t)j * HD), sum);
            STORE1(O, ((size_t)bh * S + i) * HD + x, sum);
        }

        /* --- backward ---------------------------------------------------------------------- */
        /* FlashAttention-2's backward without atomics: probabilities recomputed from the forward's
           logsumexps, one work-item per key row for dK and dV (summed over the head group's query
           rows), one per query row for dQ. */

        /* delta[bh][i] = dO_i . O_i. Grid: (S, B*H). */
        __kernel void backward_delta(const int S, __global const storage_t *restrict O, __global const storage_t *restrict dO,
                                     __global float *restrict delta) {
            const int i = get_global_id(0), bh = get_global_id(1);
            if (i >= S) return;
            const size_t at = ((size_t)bh * S + i) * HD;
            float sum = 0;
            for (int x = 0; x < HD; ++x) sum = fma(LOAD1(dO, at + x), LOAD1(O, at + x), sum);
            delta[(size_t)bh * S + i] = sum;
        }

        /* dK and dV of key j of one key/value head, over every query row of the heads that read it.
           Grid: (S, B*HKV). */
        __kernel void backward_dkdv(const int S, const int H, const int HKV, const float scale, __global const storage_t *restrict Q,
                                    __global const storage_t *restrict K, __global const storage_t *restrict V,
                                    __global const storage_t *restrict dO, __global const float *restrict lse,
                                    __global const float *restrict delta, __global storage_t *restrict dK,
                                    __global storage_t *restrict dV) {
            const int j = get_global_id(0), bkv = get_global_id(1);
            if (j >= S) return;
            const int group = H / HKV, batch = bkv / HKV, kvHead = bkv % HKV;
            const size_t kv = ((size_t)bkv * S + j) * HD;
            float k[HD], v[HD], dk[HD], dv[HD];
            for (int x = 0; x < HD; ++x) {
                k[x] = LOAD1(K, kv + x) * scale;
                v[x] = LOAD1(V, kv + x);
                dk[x] = 0;
                dv[x] = 0;
            }
            for (int h = kvHead * group; h < (kvHead + 1) * group; ++h) {
                const size_t rows = ((size_t)batch * H + h) * S;
                for (int i = CAUSAL ? j : 0; i < S; ++i) {
                    const size_t at = (rows + i) * HD;
                    float s = 0, dp = 0;
                    for (int x = 0; x < HD; ++x) {
                        s = fma(LOAD1(Q, at + x), k[x], s);
                        dp = fma(LOAD1(dO, at + x), v[x], dp);
                    }
                    const float p = exp(fmin(s - lse[rows + i], 0.0f));
                    const float ds = p * (dp - delta[rows + i]) * scale;
                    for (int x = 0; x < HD; ++x) {
                        dv[x] = fma(p, LOAD1(dO, at + x), dv[x]);
                        dk[x] = fma(ds, LOAD1(Q, at + x), dk[x]);
                    }
                }
            }
            for (int x = 0; x < HD; ++x) {
                STORE1(dK, kv + x, dk[x]);
                STORE1(dV, kv + x, dv[x]);
            }
        }

        /* dQ of query row i: scale * sum_j p_ij (dO_i . v_j - delta_i) k_j. Grid: (S, B*H). */
        __kernel void backward_dq(const int S, const int H, const int HKV, const float scale, __global const storage_t *restrict Q,
                                  __global const storage_t *restrict K, __global const storage_t *restrict V,
                                  __global const storage_t *restrict dO, __global const float *restrict lse,
                                  __global const float *restrict delta, __global storage_t *restrict dQ) {
            const int i = get_global_id(0), bh = get_global_id(1);
            if (i >= S) return;
            const int bkv = (bh / H) * HKV + (bh % H) / (H / HKV);
            const size_t at = ((size_t)bh * S + i) * HD;
            float q[HD], g[HD], dq[HD];
            for (int x = 0; x < HD; ++x) {
                q[x] = LOAD1(Q, at + x) * scale;
                g[x] = LOAD1(dO, at + x);
                dq[x] = 0;
            }
            const float l = lse[(size_t)bh * S + i], d = delta[(size_t)bh * S + i];
            const int keys = CAUSAL ? i + 1 : S;
            for (int j = 0; j < keys; ++j) {
                const size_t kv = ((size_t)bkv * S + j) * HD;
                float s = 0, dp = 0;
                for (int x = 0; x < HD; ++x) {
                    s = fma(q[x], LOAD1(K, kv + x), s);
                    dp = fma(g[x], LOAD1(V, kv + x), dp);
                }
                const float ds = exp(fmin(s - l, 0.0f)) * (dp - d) * scale;
                for (int x = 0; x < HD; ++x) dq[x] = fma(ds, LOAD1(K, kv + x), dq[x]);
            }
            for (int x = 0; x < HD; ++x) STORE1(dQ, at + x, dq[x]);
        }

        /* --- flash ------------------------------------------------------------------------- */
        #ifdef FLASH
        typedef CAT(float, VW) floatv;
        typedef CAT(int, VW) intv;
        #define VLOAD CAT(vload, VW)
        #define VSTORE CAT(vstore, VW)
        __constant int laneIndex[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

        inline float reduce_max(floatv v) {
        #if VW == 16
            float8 v8 = fmax(v.lo, v.hi);
        #else
            float8 v8 = v;
        #endif
            float4 v4 = fmax(v8.lo, v8.hi);
            float2 v2 = fmax(v4.lo, v4.hi);
            return fmax(v2.lo, v2.hi);
        }

        inline float reduce_sum(floatv v) {
        #if VW == 16
            float8 v8 = v.lo + v.hi;
        #else
            float8 v8 = v;
        #endif
            float4 v4 = v8.lo + v8.hi;
            float2 v2 = v4.lo + v4.hi;
            return v2.lo + v2.hi;
        }

        /* Qp[bh][row][x] = Q * factor, rows padded to whole TM blocks, x to HDP. Grid: (HDP, rows padded, B*H). */
        __kernel void flash_pack_q(const int S, const int rowsPadded, const float factor,
                                   __global const storage_t *restrict Q, __global float *restrict Qp) {
            const int x = get_global_id(0), i = get_global_id(1), bh = get_global_id(2);
            if (x >= HDP || i >= rowsPadded) return;
            Qp[((size_t)bh * rowsPadded + i) * HDP + x] = (i < S && x < HD) ? LOAD1(Q, ((size_t)bh * S + i) * HD + x) * factor : 0.0f;
        }

        /* Kp[bkv][panel][x][lane] = K[bkv][panel * VW + lane][x]; Vp[bkv][j][x] = V[bkv][j][x]; zero
           past S and HD. Grid: (HDP, keys padded, B*HKV). */
        __kernel void flash_pack_kv(const int S, const int keysPadded, __global const storage_t *restrict K,
                                    __global const storage_t *restrict V, __global float *restrict Kp,
                                    __global float *restrict Vp) {
            const int x = get_global_id(0), j = get_global_id(1), bkv = get_global_id(2);
            if (x >= HDP || j >= keysPadded) return;
            const bool inside = j < S && x < HD;
            const size_t from = ((size_t)bkv * S + j) * HD + x;
            const size_t panel = (size_t)bkv * keysPadded / VW + j / VW;
            Kp[(panel * HDP + x) * VW + j % VW] = inside ? LOAD1(K, from) : 0.0f;
            Vp[((size_t)bkv * keysPadded + j) * HDP + x] = inside ? LOAD1(V, from) : 0.0f;
        }

        /* One work-item: TM query rows of one head, every key panel they attend to. Grid: (row blocks, B*H). */
        __kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
        void flash(const int S, const int H, const int HKV, __global const float *restrict Qp,
                   __global const float *restrict Kp, __global const float *restrict Vp,
                   __global storage_t *restrict O, __global float *restrict lse) {
            const int block = get_global_id(0), bh = get_global_id(1);
            const int row0 = block * TM;
            if (row0 >= S) return;
            const int rowsPadded = (S + TM - 1) / TM * TM, panels = (S + VW - 1) / VW;
            const int bkv = (bh / H) * HKV + (bh % H) / (H / HKV);
            __global const float *q = Qp + ((size_t)bh * rowsPadded + row0) * HDP;
            __global const float *kp = Kp + (size_t)bkv * panels * HDP * VW;
            __global const float *vp = Vp + (size_t)bkv * panels * VW * HDP;
            const intv lane = VLOAD(0, laneIndex);

            floatv acc[TM][HDP / VW];
            float m[TM], l[TM];
            #pragma unroll
            for (int r = 0; r < TM; ++r) {
                m[r] = -INFINITY;
                l[r] = 0;
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) acc[r][c] = (floatv)0;
            }
            const int lastRow = min(row0 + TM, S) - 1;
            const int panelEnd = CAUSAL ? lastRow / VW + 1 : panels;
            for (int panel = 0; panel < panelEnd; ++panel) {
                const int key0 = panel * VW;
                __global const float *k = kp + (size_t)panel * HDP * VW;
                floatv s[TM];
                #pragma unroll
                for (int r = 0; r < TM; ++r) s[r] = (floatv)0;
                for (int x = 0; x < HDP; ++x) {
                    const floatv kx = VLOAD(x, k);
                    #pragma unroll
                    for (int r = 0; r < TM; ++r) s[r] = fma((floatv)q[r * HDP + x], kx, s[r]);
                }
                const bool edge = key0 + VW > S || (CAUSAL && key0 + VW - 1 > row0);
                float p[TM][VW];
                #pragma unroll
                for (int r = 0; r < TM; ++r) {
                    if (edge) {
                        intv masked = key0 + lane >= S;
                        #if CAUSAL
                        masked |= key0 + lane > row0 + r;
                        #endif
                        s[r] = select(s[r], (floatv)(-INFINITY), masked);
                    }
                    const float mNew = fmax(m[r], reduce_max(s[r]));
                    /* A row whose keys are all masked so far keeps its zero state. */
                    const float correction = mNew == -INFINITY ? 1.0f : exp2(m[r] - mNew);
                    const floatv e = mNew == -INFINITY ? (floatv)0 : exp2(s[r] - mNew);
                    l[r] = l[r] * correction + reduce_sum(e);
                    m[r] = mNew;
                    VSTORE(e, 0, p[r]);
                    #pragma unroll
                    for (int c = 0; c < HDP / VW; ++c) acc[r][c] *= correction;
                }
                __global const float *v = vp + (size_t)key0 * HDP;
                for (int j = 0; j < VW; ++j) {
                    #pragma unroll
                    for (int c = 0; c < HDP / VW; ++c) {
                        const floatv vj = VLOAD(c, v + (size_t)j * HDP);
                        #pragma unroll
                        for (int r = 0; r < TM; ++r) acc[r][c] = fma((floatv)p[r][j], vj, acc[r][c]);
                    }
                }
            }

            #pragma unroll
            for (int r = 0; r < TM; ++r) {
                const int row = row0 + r;
                if (row >= S) break;
                const float inverse = 1.0f / l[r];
                float out[HDP];
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) VSTORE(acc[r][c] * inverse, c, out);
                const size_t at = ((size_t)bh * S + row) * HD;
                for (int x = 0; x < HD; ++x) STORE1(O, at + x, out[x]);
                lse[(size_t)bh * S + row] = (m[r] + log2(l[r])) * M_LN2_F;
            }
        }
        #endif
        """#
}

/// The compile-time shape of the flash kernel, per device: defaults per device type, or tuned.
public struct FlashKernelParameters: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Query rows per work-item.
    public var tileRows: Int
    /// Keys per panel: one vector of this many lanes (8 or 16).
    public var vectorWidth: Int
    public var groupSize: Int

    public init(tileRows: Int, vectorWidth: Int, groupSize: Int) {
        self.tileRows = tileRows
        self.vectorWidth = vectorWidth
        self.groupSize = groupSize
    }

    public var description: String { "TM=\(tileRows) VW=\(vectorWidth) WG=\(groupSize)" }

    /// Why these parameters cannot run on a device with this work-group limit, or nil.
    func violation(maxWorkGroupSize: Int) -> String? {
        if ![8, 16].contains(vectorWidth) { return "vector width \(vectorWidth) is not 8 or 16" }
        if !(1...16).contains(tileRows) { return "tile rows \(tileRows) outside 1...16" }
        if groupSize < 1 || groupSize > maxWorkGroupSize { return "work-group \(groupSize) exceeds the device's \(maxWorkGroupSize)" }
        return nil
    }

    /// CPUs (PoCL): few work-items, wide vectors, several rows per work-item; the accumulator
    /// (`TM` x head dim floats) must stay in vector registers, so larger heads take fewer rows.
    /// GPUs: many work-items of one or two rows.
    static func defaults(isCPU: Bool, headDim: Int) -> FlashKernelParameters {
        if isCPU { return FlashKernelParameters(tileRows: headDim <= 64 ? 4 : 2, vectorWidth: 16, groupSize: 4) }
        return FlashKernelParameters(tileRows: 2, vectorWidth: 8, groupSize: 64)
    }

    /// The head dimension padded to whole vectors.
    func paddedHeadDim(_ headDim: Int) -> Int { (headDim + vectorWidth - 1) / vectorWidth * vectorWidth }
}
