/// OpenCL flash-attention kernels: Q `[B][H][S][HD]`, K and V `[B][HKV][S][HD]`, O like Q, all in
/// the storage type; scores, softmax and sums in fp32. Compile-time: `HD` (head dimension),
/// `CAUSAL`, `TM`, `VW`, `WG` and `HDP` (HD padded to whole vectors), with `KBP`, `SCORE_SUMS` and
/// `SCORE_PANELS` from `FlashKernelParameters`, and `POLY_EXP2` (1 on a CPU: the polynomial of
/// `OpenCLExponentials` in place of the library's exp2). (The unfused path's softmax:
/// `SoftmaxKernelSource`.)
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
/// `bwd_*`: the flash backward from the forward's O and logsumexps, in the same vector style
/// (`TK`: key rows per work-item of the sweep over the keys; `QBP`: query panels per block of the
/// one-sweep backward).
enum AttentionKernelSource {
    static let text = OpenCLStorageTypes.text + "\n" + OpenCLExponentials.text + "\n" + #"""
        #ifndef CAUSAL
        #define CAUSAL 0
        #endif

        typedef CAT(float, VW) floatv;
        typedef CAT(int, VW) intv;
        #define VLOAD CAT(vload, VW)
        #define VSTORE CAT(vstore, VW)
        /* Accumulator columns the forward's P·V updates per pass over a panel's keys: at least 8
           independent FMA chains, and at least two columns, so that each broadcast probability
           feeds two FMAs (with one, a CPU loads a vector per FMA and the loads bound the loop). */
        #define PVC (TM >= 8 ? 2 : 8 / TM)
        #ifndef SCORE_SUMS
        #define SCORE_SUMS 1
        #endif
        #ifndef SCORE_PANELS
        #define SCORE_PANELS 1
        #endif
        /* A CPU's exp2 is a library routine; a GPU's, one instruction. */
        #if POLY_EXP2
        EXP_FAMILY(float, as_float, as_uint)
        EXP_FAMILY(floatv, CAT(as_float, VW), CAT(as_uint, VW))
        #define EXP2 exp2_polynomial
        #else
        #define EXP2 exp2
        #endif
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

        /* Whether any lane is set: OR-folded halves, cheaper on a CPU than any(). Tested against zero, not
           the sign: true lanes are -1, but oclgrind 21.10 turns an OR of comparisons into lanes of 1. */
        inline bool any_lane(intv v) {
        #if VW == 16
            int8 v8 = v.lo | v.hi;
        #else
            int8 v8 = v;
        #endif
            int4 v4 = v8.lo | v8.hi;
            int2 v2 = v4.lo | v4.hi;
            return (v2.lo | v2.hi) != 0;
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

        /* --- packing ------------------------------------------------------------------------ */
        /* Every packing kernel gives a work-item VW consecutive rows of one head: it reads them along
           the head dimension and writes rows and panels whole (vectors where it can), so a pass
           costs about a copy (on a CPU; one work-item per element ran at a quarter of the copy
           bandwidth there, PoCL's masked loads waiting on memory). */

        /* X[h][row][x] widened to fp32; zero past S and HD. */
        inline float padded_value(const int S, __global const storage_t *X, const int h, const int row, const int x) {
            return (row < S && x < HD) ? LOAD1(X, ((size_t)h * S + row) * HD + x) : 0.0f;
        }

        /* out[i][x] = X[h][row0 + i][x] * factor for i < rows, x < HDP; zero past S and HD. */
        inline void pack_rows(const int S, __global const storage_t *X, const int h, const int row0, const int rows,
                              const float factor, __global float *out) {
            for (int i = 0; i < rows; ++i) {
                const int row = row0 + i;
                __global float *to = out + (size_t)i * HDP;
                if (row < S && HD == HDP) {
                    __global const storage_t *from = X + ((size_t)h * S + row) * HD;
                    for (int c = 0; c < HDP / VW; ++c) VSTORE(LOADV(from, c * VW) * factor, c, to);
                } else {
                    for (int x = 0; x < HDP; ++x) to[x] = padded_value(S, X, h, row, x) * factor;
                }
            }
        }

        /* One panel: out[x][lane] = X[h][row0 + lane][x] * factor for x < HDP; zero past S and HD. */
        inline void pack_panel(const int S, __global const storage_t *X, const int h, const int row0, const float factor,
                               __global float *out) {
            float lanes[VW];
            if (row0 + VW <= S) {
                __global const storage_t *from = X + ((size_t)h * S + row0) * HD;
                for (int x = 0; x < HD; ++x) {
                    #pragma unroll
                    for (int i = 0; i < VW; ++i) lanes[i] = LOAD1(from, (size_t)i * HD + x);
                    VSTORE(VLOAD(0, lanes) * factor, x, out);
                }
                for (int x = HD; x < HDP; ++x) VSTORE((floatv)0, x, out);
                return;
            }
            for (int x = 0; x < HDP; ++x) {
                #pragma unroll
                for (int i = 0; i < VW; ++i) lanes[i] = padded_value(S, X, h, row0 + i, x);
                VSTORE(VLOAD(0, lanes) * factor, x, out);
            }
        }

        /* Qp[bh][row][x] = Q * factor, rows padded to rowsPadded, x to HDP. Grid: (rowsPadded / VW rounded up, B*H). */
        __kernel void flash_pack_q(const int S, const int rowsPadded, const float factor,
                                   __global const storage_t *restrict Q, __global float *restrict Qp) {
            const int row0 = get_global_id(0) * VW, bh = get_global_id(1);
            if (row0 >= rowsPadded) return;
            pack_rows(S, Q, bh, row0, min(VW, rowsPadded - row0), factor, Qp + ((size_t)bh * rowsPadded + row0) * HDP);
        }

        /* Kp[bkv][panel][x][lane] = K[bkv][panel * VW + lane][x]; Vp[bkv][j][x] = V[bkv][j][x]; zero
           past S and HD. Grid: (keysPadded / VW, B*HKV). */
        __kernel void flash_pack_kv(const int S, const int keysPadded, __global const storage_t *restrict K,
                                    __global const storage_t *restrict V, __global float *restrict Kp,
                                    __global float *restrict Vp) {
            const int row0 = get_global_id(0) * VW, bkv = get_global_id(1);
            if (row0 >= keysPadded) return;
            const size_t at = ((size_t)bkv * keysPadded + row0) * HDP;
            pack_panel(S, K, bkv, row0, 1.0f, Kp + at);
            pack_rows(S, V, bkv, row0, VW, 1.0f, Vp + at);
        }

        /* One work-item: TM query rows of one head, every key panel they attend to. The work-group
           walks the keys in blocks of KBP panels, meeting at a barrier after each, so a block of K
           and V is read by all its work-items while it is in cache (a CPU runs a work-group's
           work-items one after another between barriers). Grid: (row blocks, B*H). */
        __kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
        void flash(const int S, const int H, const int HKV, __global const float *restrict Qp,
                   __global const float *restrict Kp, __global const float *restrict Vp,
                   __global storage_t *restrict O, __global float *restrict lse) {
            const int block = get_global_id(0), bh = get_global_id(1);
            const int row0 = block * TM;
            /* Work-items past the last row still meet every barrier; they attend to no key. */
            const bool active = row0 < S;
            const int rowsPadded = (S + TM - 1) / TM * TM, panels = (S + VW - 1) / VW;
            const int bkv = (bh / H) * HKV + (bh % H) / (H / HKV);
            __global const float *q = Qp + ((size_t)bh * rowsPadded + (active ? row0 : 0)) * HDP;
            __global const float *kp = Kp + (size_t)bkv * panels * HDP * VW;
            __global const float *vp = Vp + (size_t)bkv * panels * VW * HDP;
            const intv lane = VLOAD(0, laneIndex);

            floatv acc[TM][HDP / VW], l[TM];
            float m[TM];
            #pragma unroll
            for (int r = 0; r < TM; ++r) {
                m[r] = -INFINITY;
                l[r] = (floatv)0;
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) acc[r][c] = (floatv)0;
            }
            const int lastRow = min(row0 + TM, S) - 1;
            const int panelEnd = !active ? 0 : CAUSAL ? lastRow / VW + 1 : panels;
            /* The same block count for the whole group: that of its last row. */
            const int groupLastRow = min((int)(get_group_id(0) + 1) * WG * TM, S) - 1;
            const int groupPanelEnd = CAUSAL ? groupLastRow / VW + 1 : panels;
            for (int blockStart = 0; blockStart < groupPanelEnd; blockStart += KBP) {
                const int blockEnd = min(blockStart + KBP, panelEnd);
                /* A step takes SCORE_PANELS panels: each broadcast of Q feeds that many FMAs, and the
                   accumulator, which may not fit the registers, is read and written once per step. */
                for (int step = blockStart; step < blockEnd; step += SCORE_PANELS) {
                    const int key0 = step * VW, stepPanels = min(SCORE_PANELS, blockEnd - step);
                    /* SCORE_PANELS x TM x SCORE_SUMS independent FMA chains: SCORE_SUMS partial sums
                       per score over interleaved head-dimension terms. A panel past the block reads
                       the head's last panel again and is masked. */
                    floatv s[SCORE_PANELS][TM], part[SCORE_PANELS][TM][SCORE_SUMS];
                    __global const float *k[SCORE_PANELS];
                    #pragma unroll
                    for (int sp = 0; sp < SCORE_PANELS; ++sp) {
                        k[sp] = kp + (size_t)min(step + sp, panels - 1) * HDP * VW;
                        #pragma unroll
                        for (int r = 0; r < TM; ++r) {
                            #pragma unroll
                            for (int u = 0; u < SCORE_SUMS; ++u) part[sp][r][u] = (floatv)0;
                        }
                    }
                    for (int x = 0; x < HDP; x += SCORE_SUMS) {
                        #pragma unroll
                        for (int u = 0; u < SCORE_SUMS; ++u) {
                            floatv kx[SCORE_PANELS];
                            #pragma unroll
                            for (int sp = 0; sp < SCORE_PANELS; ++sp) kx[sp] = VLOAD(x + u, k[sp]);
                            #pragma unroll
                            for (int r = 0; r < TM; ++r) {
                                const floatv qx = (floatv)q[r * HDP + x + u];
                                #pragma unroll
                                for (int sp = 0; sp < SCORE_PANELS; ++sp) part[sp][r][u] = fma(qx, kx[sp], part[sp][r][u]);
                            }
                        }
                    }
                    #pragma unroll
                    for (int sp = 0; sp < SCORE_PANELS; ++sp) {
                        #pragma unroll
                        for (int r = 0; r < TM; ++r) {
                            s[sp][r] = part[sp][r][0];
                            #pragma unroll
                            for (int u = 1; u < SCORE_SUMS; ++u) s[sp][r] += part[sp][r][u];
                        }
                    }
                    /* The step reaches past the last key every one of these rows may see, or past the block. */
                    if (key0 + SCORE_PANELS * VW > (CAUSAL ? min(S, row0 + 1) : S) || stepPanels < SCORE_PANELS) {
                        #pragma unroll
                        for (int sp = 0; sp < SCORE_PANELS; ++sp) {
                            const intv key = key0 + sp * VW + lane;
                            #pragma unroll
                            for (int r = 0; r < TM; ++r) {
                                intv masked = key >= (sp < stepPanels ? S : 0);
                                #if CAUSAL
                                masked |= key > row0 + r;
                                #endif
                                s[sp][r] = select(s[sp][r], (floatv)(-INFINITY), masked);
                            }
                        }
                    }
                    /* The running maximum moves only when a score passes it by more than 8
                       (log2 units): exponentials stay below 256, and most steps need neither
                       a row's maximum nor a rescale of its accumulator. One test for all rows. */
                    intv rising = (intv)0;
                    #pragma unroll
                    for (int sp = 0; sp < SCORE_PANELS; ++sp) {
                        #pragma unroll
                        for (int r = 0; r < TM; ++r) rising |= s[sp][r] > m[r] + 8.0f;
                    }
                    if (any_lane(rising)) {
                        #pragma unroll
                        for (int r = 0; r < TM; ++r) {
                            floatv top = s[0][r];
                            #pragma unroll
                            for (int sp = 1; sp < SCORE_PANELS; ++sp) top = fmax(top, s[sp][r]);
                            if (!any_lane(top > m[r] + 8.0f)) continue;
                            const float mNew = reduce_max(top);
                            const float correction = EXP2(m[r] - mNew);
                            l[r] *= correction;
                            #pragma unroll
                            for (int c = 0; c < HDP / VW; ++c) acc[r][c] *= correction;
                            m[r] = mNew;
                        }
                    }
                    /* Whole-vector stores (vstore of a float array splits on PoCL), read back lane by lane:
                       row r's probabilities are p[r * SCORE_PANELS * VW + key]. */
                    floatv pv[TM][SCORE_PANELS];
                    const float *p = (const float *)pv;
                    #pragma unroll
                    for (int r = 0; r < TM; ++r) {
                        #pragma unroll
                        for (int sp = 0; sp < SCORE_PANELS; ++sp) {
                            /* A row whose keys are all masked so far (m = -inf) gets exp2(-inf) = 0, not
                               the NaN of -inf - -inf: no branch per row (one ran the forward 4-6% slower). */
                            const floatv e = EXP2(s[sp][r] - fmax(m[r], -FLT_MAX));
                            l[r] += e;
                            pv[r][sp] = e;
                        }
                    }
                    /* P·V a few accumulator columns at a time: TM x PVC of them stay in registers,
                       at least 8 independent FMA chains. */
                    __global const float *v = vp + (size_t)key0 * HDP;
                    const int keys = stepPanels * VW;
                    #pragma unroll
                    for (int c0 = 0; c0 < HDP / VW; c0 += PVC) {
                        for (int j = 0; j < keys; ++j) {
                            #pragma unroll
                            for (int u = 0; u < PVC; ++u) {
                                /* A constant trip count, so the loop unrolls before c0's does. */
                                const int c = c0 + u;
                                if (c >= HDP / VW) break;
                                const floatv vj = VLOAD(c, v + (size_t)j * HDP);
                                #pragma unroll
                                for (int r = 0; r < TM; ++r) acc[r][c] = fma((floatv)p[r * SCORE_PANELS * VW + j], vj, acc[r][c]);
                            }
                        }
                    }
                }
                barrier(CLK_LOCAL_MEM_FENCE);
            }

            #pragma unroll
            for (int r = 0; r < TM; ++r) {
                const int row = row0 + r;
                if (row >= S) break;
                const float sum = reduce_sum(l[r]), inverse = 1.0f / sum;
                float out[HDP];
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) VSTORE(acc[r][c] * inverse, c, out);
                const size_t at = ((size_t)bh * S + row) * HD;
                for (int x = 0; x < HD; ++x) STORE1(O, at + x, out[x]);
                lse[(size_t)bh * S + row] = (m[r] + log2(sum)) * M_LN2_F;
            }
        }

        /* --- flash backward ------------------------------------------------------------------ */
        /* FlashAttention-2's backward without atomics, in the forward's vector style. Packing lays
           each of Q, K, V and dO out twice, zero-padded to P rows: as rows ([h][row][HDP]) and as
           panels of VW rows contiguous along the head dimension ([h][panel][x][lane]); the panels
           of Q and K are scaled by log2(e)/sqrt(HD), so scores come out in log2 units. Then
           bwd_delta writes D = rowsum(dO * O) and the logsumexps in log2 units, padded (+inf, so
           padded queries get probability 0). A CPU then runs bwd_sweep (dK, dV and dQ partials in
           one sweep over the keys) and bwd_dq_sum; a GPU runs bwd_dkdv (each work-item owns TK key
           rows and sweeps the head group's query panels) and bwd_dq (each owns TM query rows and
           sweeps key panels). */

        /* Xr[h][row][x] = X, Xp[h][row / VW][x][row % VW] = X * factor. Grid: (P / VW, heads). */
        __kernel void bwd_pack(const int S, const int P, const float factor, __global const storage_t *restrict X,
                               __global float *restrict Xr, __global float *restrict Xp) {
            const int row0 = get_global_id(0) * VW, h = get_global_id(1);
            if (row0 >= P) return;
            const size_t at = ((size_t)h * P + row0) * HDP;
            pack_rows(S, X, h, row0, VW, 1.0f, Xr + at);
            pack_panel(S, X, h, row0, factor, Xp + at);
        }

        /* Xr alone, for the operands the one-sweep backward reads only as rows (K and V). Grid: as bwd_pack's. */
        __kernel void bwd_pack_rows(const int S, const int P, __global const storage_t *restrict X, __global float *restrict Xr) {
            const int row0 = get_global_id(0) * VW, h = get_global_id(1);
            if (row0 >= P) return;
            pack_rows(S, X, h, row0, VW, 1.0f, Xr + ((size_t)h * P + row0) * HDP);
        }

        /* D[bh][i] = dO_i . O_i and lse2[bh][i] = lse * log2(e); 0 and +inf past S. Grid: (P, B*H). */
        __kernel void bwd_delta(const int S, const int P, __global const storage_t *restrict O, __global const storage_t *restrict dO,
                                __global const float *restrict lse, __global float *restrict D, __global float *restrict lse2) {
            const int i = get_global_id(0), bh = get_global_id(1);
            if (i >= P) return;
            float sum = 0;
            if (i < S) {
                const size_t at = ((size_t)bh * S + i) * HD;
                for (int x = 0; x < HD; ++x) sum = fma(LOAD1(dO, at + x), LOAD1(O, at + x), sum);
            }
            D[(size_t)bh * P + i] = sum;
            lse2[(size_t)bh * P + i] = i < S ? lse[(size_t)bh * S + i] * M_LOG2E_F : INFINITY;
        }

        /* acc[t][c..c+1] += Σ_i weights[t·VW + i] · rows[i][c..c+1] over a panel's VW rows: two accumulator
           columns at a time, so that each broadcast weight (a load of its own on a CPU without embedded
           broadcasts) feeds two FMAs and the accumulators of one pass fit 16 registers. c + 1 past the
           last column repeats c and is not added. */
        inline __attribute__((always_inline)) void add_outer_products(floatv acc[TK][HDP / VW], const float *weights,
                                                                     __global const float *rows, const int c) {
            const int c1 = min(c + 1, HDP / VW - 1);
            for (int i = 0; i < VW; ++i) {
                const floatv r0 = VLOAD(c, rows + (size_t)i * HDP), r1 = VLOAD(c1, rows + (size_t)i * HDP);
                #pragma unroll
                for (int t = 0; t < TK; ++t) {
                    const floatv w = (floatv)weights[t * VW + i];
                    acc[t][c] = fma(w, r0, acc[t][c]);
                    if (c1 != c) acc[t][c1] = fma(w, r1, acc[t][c1]);
                }
            }
        }

        /* The TK key rows from key0 of one key/value head against the query panels [panelBegin,
           panelEnd): their dK and dV, and with dq (withDQ; the caller's own fp32 dQ partial, [B*H][P / VW][HDP][VW])
           their share of dQ = dS.K, so the scores and dP are computed once for all three gradients.
           withDQ is a constant at each call: a test of dq itself stayed in the score loop, kept K's
           broadcasts live across it and spilled the dP sums (the sweep 1.5x slower).
           Over part of the panels, the running fp32 dK and dV of these rows are carried in
           running ([B*HKV][P][2][HDP]) from one call to the next; the call that reaches the last
           panel stores dK and dV. No restrict here: inlined, it would leave noalias-scope
           intrinsics that oclgrind cannot run; the kernels' arguments carry it. */
        inline __attribute__((always_inline)) void key_block_gradients(const int S, const int P, const int H, const int HKV, const float scale, const int bkv,
                                        const int key0, const int panelBegin, const int panelEnd,
                                        __global const float *Qr, __global const float *Qp,
                                        __global const float *Kr, __global const float *Vr,
                                        __global const float *dOr, __global const float *dOp,
                                        __global const float *D, __global const float *lse2, __global float *running,
                                        const bool withDQ, __global float *dq, __global storage_t *dK, __global storage_t *dV) {
            const int group = H / HKV, batch = bkv / HKV, kvHead = bkv % HKV, panels = P / VW;
            /* Causal: a query before the block's first key attends to none of it. */
            const int firstPanel = CAUSAL ? key0 / VW : 0;
            if (panelEnd <= firstPanel) return;
            __global const float *k = Kr + ((size_t)bkv * P + key0) * HDP;
            __global const float *v = Vr + ((size_t)bkv * P + key0) * HDP;
            __global float *run = running + ((size_t)bkv * P + key0) * 2 * HDP;
            const intv lane = VLOAD(0, laneIndex);
            const bool fresh = panelBegin <= firstPanel, last = panelEnd == panels;
            floatv dk[TK][HDP / VW], dv[TK][HDP / VW];
            #pragma unroll
            for (int t = 0; t < TK; ++t) {
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) {
                    dk[t][c] = fresh ? (floatv)0 : VLOAD(c, run + t * 2 * HDP);
                    dv[t][c] = fresh ? (floatv)0 : VLOAD(c, run + t * 2 * HDP + HDP);
                }
            }
            /* dQ (panels of dq, [x][lane]) += dS.K rides on the next panel's score loop, which
               broadcasts the same K values: each panel's dS waits in pendingDS until then. The
               first pending panel is one of this work-item's own with dS = 0. */
            floatv pendingDS[TK];
            #pragma unroll
            for (int t = 0; t < TK; ++t) pendingDS[t] = (floatv)0;
            __global float *pendingDQ = withDQ ? dq + ((size_t)(batch * H + kvHead * group) * panels + max(panelBegin, firstPanel)) * HDP * VW : dq;
            for (int h = kvHead * group; h < (kvHead + 1) * group; ++h) {
                const size_t bh = (size_t)batch * H + h;
                for (int panel = max(panelBegin, firstPanel); panel < panelEnd; ++panel) {
                    const int query0 = panel * VW;
                    __global const float *qp = Qp + (bh * panels + panel) * HDP * VW;
                    __global const float *gp = dOp + (bh * panels + panel) * HDP * VW;
                    floatv s[TK], dp[TK];
                    #pragma unroll
                    for (int t = 0; t < TK; ++t) { s[t] = (floatv)0; dp[t] = (floatv)0; }
                    for (int x = 0; x < HDP; ++x) {
                        const floatv qx = VLOAD(x, qp), gx = VLOAD(x, gp);
                        floatv dqx = withDQ ? VLOAD(x, pendingDQ) : (floatv)0;
                        #pragma unroll
                        for (int t = 0; t < TK; ++t) {
                            const floatv kx = (floatv)k[t * HDP + x];
                            s[t] = fma(kx, qx, s[t]);
                            dp[t] = fma((floatv)v[t * HDP + x], gx, dp[t]);
                            if (withDQ) dqx = fma(pendingDS[t], kx, dqx);
                        }
                        if (withDQ) VSTORE(dqx, x, pendingDQ);
                    }
                    const floatv l = VLOAD(0, lse2 + bh * P + query0), d = VLOAD(0, D + bh * P + query0);
                    floatv pv[TK], dsv[TK];
                    const float *p = (const float *)pv, *ds = (const float *)dsv;
                    #pragma unroll
                    for (int t = 0; t < TK; ++t) {
                        floatv e = EXP2(fmin(s[t] - l, (floatv)0));
                        #if CAUSAL
                        e = select(e, (floatv)0, query0 + lane < key0 + t);
                        #endif
                        pv[t] = e;
                        dsv[t] = e * (dp[t] - d) * scale;
                    }
                    /* dV += P·dO and dK += dS·Q, each product in a loop of its own. */
                    __global const float *gi = dOr + (bh * P + query0) * HDP, *qi = Qr + (bh * P + query0) * HDP;
                    #pragma unroll
                    for (int c = 0; c < HDP / VW; c += 2) {
                        add_outer_products(dv, p, gi, c);
                        add_outer_products(dk, ds, qi, c);
                    }
                    if (withDQ) {
                        #pragma unroll
                        for (int t = 0; t < TK; ++t) pendingDS[t] = dsv[t];
                        pendingDQ = dq + (bh * panels + panel) * HDP * VW;
                    }
                }
            }
            if (withDQ) {
                for (int x = 0; x < HDP; ++x) {
                    floatv dqx = VLOAD(x, pendingDQ);
                    #pragma unroll
                    for (int t = 0; t < TK; ++t) dqx = fma(pendingDS[t], (floatv)k[t * HDP + x], dqx);
                    VSTORE(dqx, x, pendingDQ);
                }
            }
            if (!last) {
                #pragma unroll
                for (int t = 0; t < TK; ++t) {
                    #pragma unroll
                    for (int c = 0; c < HDP / VW; ++c) { VSTORE(dk[t][c], c, run + t * 2 * HDP); VSTORE(dv[t][c], c, run + t * 2 * HDP + HDP); }
                }
                return;
            }
            #pragma unroll
            for (int t = 0; t < TK; ++t) {
                const int key = key0 + t;
                if (key >= S) break;
                float outK[HDP], outV[HDP];
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) { VSTORE(dk[t][c], c, outK); VSTORE(dv[t][c], c, outV); }
                const size_t at = ((size_t)bkv * S + key) * HD;
                for (int x = 0; x < HD; ++x) { STORE1(dK, at + x, outK[x]); STORE1(dV, at + x, outV[x]); }
            }
        }

        /* dK and dV of TK key rows of one key/value head; dQ is left to bwd_dq. Grid: (key blocks, B*HKV). */
        __kernel void bwd_dkdv(const int S, const int P, const int H, const int HKV, const float scale,
                               __global const float *restrict Qr, __global const float *restrict Qp,
                               __global const float *restrict Kr, __global const float *restrict Vr,
                               __global const float *restrict dOr, __global const float *restrict dOp,
                               __global const float *restrict D, __global const float *restrict lse2,
                               __global storage_t *restrict dK, __global storage_t *restrict dV) {
            const int key0 = get_global_id(0) * TK;
            if (key0 >= S) return;
            key_block_gradients(S, P, H, HKV, scale, get_global_id(1), key0, 0, P / VW, Qr, Qp, Kr, Vr, dOr, dOp, D, lse2, 0, false, 0, dK, dV);
        }

        /* All three gradients in one sweep over the keys (a CPU's backward): work-item (chunk, bkv)
           takes key blocks chunk, chunk + chunks, ... (interleaved, so causal work evens out) and
           adds their dQ into its own fp32 partial, [chunk][B*H][P / VW][HDP][VW], which nothing else writes;
           bwd_dq_sum adds the partials. It walks the queries in blocks of QBP panels, each against
           all its key blocks, so that a block's Q, dO and dQ rows stay in cache while its keys pass
           (dK and dV carried in running). Grid: (chunks, B*HKV). */
        __kernel void bwd_sweep(const int S, const int P, const int H, const int HKV, const int chunks, const float scale,
                                __global const float *restrict Qr, __global const float *restrict Qp,
                                __global const float *restrict Kr, __global const float *restrict Vr,
                                __global const float *restrict dOr, __global const float *restrict dOp,
                                __global const float *restrict D, __global const float *restrict lse2, __global float *restrict running,
                                __global float *restrict dQp, __global storage_t *restrict dK, __global storage_t *restrict dV) {
            const int chunk = get_global_id(0), bkv = get_global_id(1), group = H / HKV, panels = P / VW;
            const size_t heads = get_global_size(1) * group;
            __global float *dq = dQp + (size_t)chunk * heads * P * HDP;
            /* Zero this work-item's rows of its partial: the heads of its group. */
            __global float *own = dq + (size_t)bkv * group * P * HDP;
            for (size_t i = 0; i < (size_t)group * P * HDP / VW; ++i) VSTORE((floatv)0, i, own);
            for (int panelBegin = 0; panelBegin < panels; panelBegin += QBP)
                for (int key0 = chunk * TK; key0 < S; key0 += chunks * TK)
                    key_block_gradients(S, P, H, HKV, scale, bkv, key0, panelBegin, min(panels, panelBegin + QBP),
                                        Qr, Qp, Kr, Vr, dOr, dOp, D, lse2, running, true, dq, dK, dV);
        }

        /* dQ = the sum of bwd_sweep's partials, in the storage type: a work-item adds one panel's
           columns and writes its VW rows, as the packing reads them. Grid: (P / VW, B*H). */
        __kernel void bwd_dq_sum(const int S, const int P, const int chunks, __global const float *restrict dQp,
                                 __global storage_t *restrict dQ) {
            const int row0 = get_global_id(0) * VW, bh = get_global_id(1), rows = min(VW, S - row0);
            if (rows <= 0) return;
            const size_t stride = get_global_size(1) * (size_t)P * HDP;
            __global const float *panel = dQp + ((size_t)bh * P + row0) * HDP;
            __global storage_t *out = dQ + ((size_t)bh * S + row0) * HD;
            float lanes[VW];
            for (int x = 0; x < HD; ++x) {
                floatv sum = VLOAD(x, panel);
                for (int chunk = 1; chunk < chunks; ++chunk) sum += VLOAD(x, panel + chunk * stride);
                VSTORE(sum, 0, lanes);
                for (int i = 0; i < rows; ++i) STORE1(out, (size_t)i * HD + x, lanes[i]);
            }
        }

        /* dQ of TM query rows of one head. Grid: (row blocks, B*H). */
        __kernel void bwd_dq(const int S, const int P, const int H, const int HKV, const float scale,
                             __global const float *restrict Qr, __global const float *restrict Kr, __global const float *restrict Kp,
                             __global const float *restrict Vp, __global const float *restrict dOr,
                             __global const float *restrict D, __global const float *restrict lse2, __global storage_t *restrict dQ) {
            const int block = get_global_id(0), bh = get_global_id(1);
            const int row0 = block * TM;
            if (row0 >= S) return;
            const int bkv = (bh / H) * HKV + (bh % H) / (H / HKV), panels = P / VW;
            __global const float *q = Qr + ((size_t)bh * P + row0) * HDP;
            __global const float *g = dOr + ((size_t)bh * P + row0) * HDP;
            const intv lane = VLOAD(0, laneIndex);
            floatv acc[TM][HDP / VW];
            float l[TM], d[TM];
            #pragma unroll
            for (int r = 0; r < TM; ++r) {
                l[r] = lse2[(size_t)bh * P + row0 + r];
                d[r] = D[(size_t)bh * P + row0 + r];
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) acc[r][c] = (floatv)0;
            }
            const int lastRow = min(row0 + TM, S) - 1;
            const int panelEnd = CAUSAL ? lastRow / VW + 1 : (S + VW - 1) / VW;
            for (int panel = 0; panel < panelEnd; ++panel) {
                const int key0 = panel * VW;
                __global const float *kp = Kp + ((size_t)bkv * panels + panel) * HDP * VW;
                __global const float *vp = Vp + ((size_t)bkv * panels + panel) * HDP * VW;
                floatv s[TM], dp[TM];
                #pragma unroll
                for (int r = 0; r < TM; ++r) { s[r] = (floatv)0; dp[r] = (floatv)0; }
                for (int x = 0; x < HDP; ++x) {
                    const floatv kx = VLOAD(x, kp), vx = VLOAD(x, vp);
                    #pragma unroll
                    for (int r = 0; r < TM; ++r) {
                        s[r] = fma((floatv)q[r * HDP + x], kx, s[r]);
                        dp[r] = fma((floatv)g[r * HDP + x], vx, dp[r]);
                    }
                }
                floatv dsv[TM];
                const float *ds = (const float *)dsv;
                #pragma unroll
                for (int r = 0; r < TM; ++r) {
                    intv masked = key0 + lane >= S;
                    #if CAUSAL
                    masked |= key0 + lane > row0 + r;
                    #endif
                    const floatv e = select(EXP2(fmin(s[r] - l[r], (floatv)0)), (floatv)0, masked);
                    dsv[r] = e * (dp[r] - d[r]) * scale;
                }
                __global const float *k = Kr + ((size_t)bkv * P + key0) * HDP;
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) {
                    for (int j = 0; j < VW; ++j) {
                        const floatv kc = VLOAD(c, k + (size_t)j * HDP);
                        #pragma unroll
                        for (int r = 0; r < TM; ++r) acc[r][c] = fma((floatv)ds[r * VW + j], kc, acc[r][c]);
                    }
                }
            }
            #pragma unroll
            for (int r = 0; r < TM; ++r) {
                const int row = row0 + r;
                if (row >= S) break;
                float out[HDP];
                #pragma unroll
                for (int c = 0; c < HDP / VW; ++c) VSTORE(acc[r][c], c, out);
                const size_t at = ((size_t)bh * S + row) * HD;
                for (int x = 0; x < HD; ++x) STORE1(dQ, at + x, out[x]);
            }
        }
        """#
}

/// The compile-time shape of the flash kernel, per device: defaults per device type, or tuned.
public struct FlashKernelParameters: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Query rows per work-item.
    public var tileRows: Int
    /// Keys per panel: one vector of this many lanes (8 or 16).
    public var vectorWidth: Int
    public var groupSize: Int
    /// Key panels per block of the forward's key loop; nil: as many as make about 128 KiB of K
    /// and V (`keyBlockPanels`).
    public var keyBlock: Int?

    /// Sweeps of the backward: 1, one sweep over the keys gives dK, dV and dQ, each work-item adding
    /// dQ into its own fp32 partial; 2, a second sweep over the queries recomputes the scores and dP
    /// for dQ. nil: the device type's default (`backwardSweeps(isCPU:)`).
    public var backwardSweeps: Int?
    /// Query panels per block of the one-sweep backward; nil: as many as make about 256 KiB of
    /// the rows it reads and writes (`backwardQueryBlockPanels`).
    public var queryBlock: Int?
    /// Key rows per work-item of the backward's sweep over the keys; nil: the device type's default
    /// (`backwardKeyRows`). `tune` chooses it by timing the backward.
    public var keyRows: Int?

    public init(
        tileRows: Int, vectorWidth: Int, groupSize: Int, keyBlock: Int? = nil, backwardSweeps: Int? = nil, queryBlock: Int? = nil,
        keyRows: Int? = nil
    ) {
        self.tileRows = tileRows
        self.vectorWidth = vectorWidth
        self.groupSize = groupSize
        self.keyBlock = keyBlock
        self.backwardSweeps = backwardSweeps
        self.queryBlock = queryBlock
        self.keyRows = keyRows
    }

    public var description: String {
        "TM=\(tileRows) VW=\(vectorWidth) WG=\(groupSize)" + (keyBlock.map { " KB=\($0)" } ?? "") + (backwardSweeps.map { " BS=\($0)" } ?? "")
            + (queryBlock.map { " QB=\($0)" } ?? "") + (keyRows.map { " TK=\($0)" } ?? "")
    }

    /// Why these parameters cannot run on a device with this work-group limit, or nil.
    func violation(maxWorkGroupSize: Int) -> String? {
        if ![8, 16].contains(vectorWidth) { return "vector width \(vectorWidth) is not 8 or 16" }
        if !(1...16).contains(tileRows) { return "tile rows \(tileRows) outside 1...16" }
        if groupSize < 1 || groupSize > maxWorkGroupSize { return "work-group \(groupSize) exceeds the device's \(maxWorkGroupSize)" }
        if let keyBlock, keyBlock < 1 { return "key block \(keyBlock) is not a positive number of panels" }
        if let backwardSweeps, ![1, 2].contains(backwardSweeps) { return "backward sweeps \(backwardSweeps) is not 1 or 2" }
        if let queryBlock, queryBlock < 1 { return "query block \(queryBlock) is not a positive number of panels" }
        if let keyRows, !(1...16).contains(keyRows) { return "key rows \(keyRows) outside 1...16" }
        return nil
    }

    /// CPUs (PoCL): few work-items, wide vectors, several rows per work-item. With 16-float vectors
    /// (AVX-512, 32 registers) 8 rows for D <= 64 ran the backward 1.26x faster than 4 on a 2-core
    /// EPYC, ahead of the unfused backward, and larger heads take 4. With AVX2's 16 registers 4 rows
    /// at either head size: 8 spill the scores, and at D=128 2 rows ran at 89 GFLOP/s on the tuning
    /// case of a 2-core Zen 3 EPYC, 4 at 110. Vectors are the CPU's own width, 16 floats or 8 (AVX2:
    /// the tuner measured 4 rows of 8-wide vectors at up to 89 GFLOP/s, of 16-wide ones, two
    /// registers each, at 51-65). A CPU work-group holds `cpuGroupRows` query rows. GPUs: many work-items of one or
    /// two rows, 16-key panels, work-groups of 32: what the tuner found best on an H100 (1.3x to 3.8x
    /// the former 2 rows, 8 keys, 64 work-items).
    static func defaults(isCPU: Bool, nativeFloats: Int, headDim: Int) -> FlashKernelParameters {
        if isCPU {
            let rows = nativeFloats >= 16 && headDim <= 64 ? 8 : 4
            return FlashKernelParameters(tileRows: rows, vectorWidth: nativeFloats >= 16 ? 16 : 8, groupSize: max(1, cpuGroupRows / rows))
        }
        return FlashKernelParameters(tileRows: headDim <= 64 ? 2 : 1, vectorWidth: 16, groupSize: 32)
    }

    /// Query rows per CPU work-group. A work-group reads each block of K and V once for all its rows,
    /// so it does rows / 2 FLOPs per byte of fp32 K and V; once K and V outgrow the last-level cache
    /// that is what memory must feed. On a 2-core EPYC (32 MiB L3) 32 rows held S=32768 at D=64
    /// (16 MiB of K and V) but not at D=128 (32 MiB): 195 against 284 GFLOP/s at S=2048; 64 rows: 255-271.
    static let cpuGroupRows = 64

    /// The head dimension padded to whole vectors.
    func paddedHeadDim(_ headDim: Int) -> Int { (headDim + vectorWidth - 1) / vectorWidth * vectorWidth }

    /// Key panels per block of the forward's key loop: by default a block of K and V (fp32) takes about
    /// 128 KiB, so it stays in a core's L2 cache while the work-group's work-items all read it;
    /// long sequences then read K and V from memory once per work-group, not once per work-item.
    func keyBlockPanels(_ headDim: Int) -> Int { keyBlock ?? max(1, 128 * 1024 / (2 * 4 * vectorWidth * paddedHeadDim(headDim))) }

    /// Partial sums per score in the forward (`SCORE_SUMS`, dividing 8 and so every padded head
    /// dimension): a CPU core needs about 8 independent FMA chains to keep its FMA units busy, and
    /// fewer rows than 8 give fewer (D=128 at 4 rows: S=2048 274 -> 288, S=32768 193 -> 214 GFLOP/s on a
    /// 2-core AVX-512 EPYC). The sums of a step's scores take at most half the vector registers (32
    /// with 16-float vectors, 16 with AVX2's 8), the rest holding K's vectors and Q's broadcasts: on a
    /// 2-core AVX2 EPYC two sums for each of 4 rows x 2 panels took all 16 and spilled (D=64: 106 ->
    /// 129 GFLOP/s with one). A GPU hides the latency with other warps and would only spend registers.
    func scoreSums(isCPU: Bool, nativeFloats: Int) -> Int {
        guard isCPU else { return 1 }
        let registers = nativeFloats >= 16 ? 32 : 16
        let sumRegisters = tileRows * scorePanels(isCPU: true) * max(1, vectorWidth / nativeFloats)
        return max(1, min(8 / tileRows, registers / 2 / sumRegisters))
    }

    /// Key panels per step of the forward (`SCORE_PANELS`). A CPU core loads at most two vectors per
    /// cycle: with one panel each broadcast of Q fed one FMA and the loads bound the score loop; with
    /// two, it feeds two, and the accumulator (spilled when it outgrows the registers) is read and
    /// written once per two panels (2-core EPYC, 3 alternating runs: D=64 +3-5%, D=128 +2-16%). A GPU
    /// would spend the registers.
    func scorePanels(isCPU: Bool) -> Int { isCPU ? 2 : 1 }

    /// Key rows per work-item of the backward's dK/dV sweep. It holds two accumulators per row where
    /// the forward holds one: a GPU keeps them in registers, so it takes half the forward's rows; a
    /// CPU walks them one vector column at a time from cache, so it takes as many rows as the
    /// forward (8 where 4 were: backward 208 -> 251 GFLOP/s at S=2048 D=64 on a 2-core EPYC).
    /// `keyRows`, when set (by `tune`), overrides both.
    func backwardKeyRows(isCPU: Bool) -> Int { keyRows ?? (isCPU ? tileRows : max(1, tileRows / 2)) }

    /// A CPU's backward takes one sweep: its few work-items can each own a dQ partial, and the
    /// scores and dP are computed once (the FLOPs of five products, not seven). A GPU's thousands of
    /// work-items cannot, so it sweeps twice.
    func backwardSweeps(isCPU: Bool) -> Int { backwardSweeps ?? (isCPU ? 1 : 2) }

    /// Work-items per key/value head of the one-sweep backward: about four per compute unit, at
    /// most eight (each holds a dQ-sized fp32 partial) and at most one per key block.
    func backwardChunks(seq: Int, keyValueHeads: Int, computeUnits: Int, isCPU: Bool) -> Int {
        let keyRows = backwardKeyRows(isCPU: isCPU), keyBlocks = (seq + keyRows - 1) / keyRows
        return max(1, min(8, keyBlocks, (4 * computeUnits + keyValueHeads - 1) / keyValueHeads))
    }

    /// Query panels per block of the one-sweep backward (`QBP`): a block's Q and dO (as rows and as
    /// panels) and its dQ partial rows, 20 bytes per head-dimension element, take about 256 KiB, so
    /// they stay in a core's cache while the work-item's key blocks pass over them. Walking every
    /// query per key block, the sweep read them from memory once per key block: at S=32768 D=128
    /// on a 2-core EPYC the backward ran at 0.37x its S=2048 rate.
    func backwardQueryBlockPanels(_ headDim: Int) -> Int {
        queryBlock ?? max(1, 256 * 1024 / (20 * paddedHeadDim(headDim) * vectorWidth))
    }

    /// Rows the backward pads each head to: whole panels, whole query blocks and whole key blocks.
    func backwardPaddedRows(_ seq: Int, isCPU: Bool) -> Int {
        roundUp(seq, leastCommonMultiple([vectorWidth, tileRows, backwardKeyRows(isCPU: isCPU)]))
    }
}

