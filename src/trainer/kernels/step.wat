;; The per-step passes of a training step that tfjs runs as several kernels, as 128-bit SIMD
;; WebAssembly working in place on the wasm backend's own memory: the path without the native addon
;; (docs/architecture.md §5); and its products (gemm) with the batch transposes they need. Each
;; computes the numbers tfjs's and XNNPACK's kernels compute, rounded the same way (IEEE float
;; operations in their order), so a run's metrics do not change: only its speed.
;; scripts/build-step-wasm.mjs assembles it twice into stepWasm.ts: once importing a shared memory
;; (the threaded build of tfjs-backend-wasm) and once a plain one (its single-threaded build).
;; Pointers are byte offsets in that memory; counts are elements.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; One step of SGD with momentum, as tfjs's MomentumOptimizer: a ← m·a + g; w ← w + c·a, c = −lr.
  (func (export "momentum") (param $w i32) (param $a i32) (param $g i32) (param $n i32) (param $c f32) (param $m f32)
    (local $i i32) (local $p i32) (local $vc v128) (local $vm v128) (local $acc v128) (local $s f32)
    (local.set $vc (f32x4.splat (local.get $c)))
    (local.set $vm (f32x4.splat (local.get $m)))
    (block $tail
      (loop $four
        (br_if $tail (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $p (i32.shl (local.get $i) (i32.const 2)))
        (local.set $acc
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $p))) (local.get $vm))
            (v128.load (i32.add (local.get $g) (local.get $p)))))
        (v128.store (i32.add (local.get $a) (local.get $p)) (local.get $acc))
        (v128.store (i32.add (local.get $w) (local.get $p))
          (f32x4.add (v128.load (i32.add (local.get $w) (local.get $p))) (f32x4.mul (local.get $vc) (local.get $acc))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.shl (local.get $i) (i32.const 2)))
        (local.set $s
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $a) (local.get $p))) (local.get $m))
            (f32.load (i32.add (local.get $g) (local.get $p)))))
        (f32.store (i32.add (local.get $a) (local.get $p)) (local.get $s))
        (f32.store (i32.add (local.get $w) (local.get $p))
          (f32.add (f32.load (i32.add (local.get $w) (local.get $p))) (f32.mul (local.get $c) (local.get $s))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one))))

  ;; Nesterov's momentum, as tfjs's: a ← m·a + g; w ← w + c·(g + m·a).
  (func (export "momentumNesterov") (param $w i32) (param $a i32) (param $g i32) (param $n i32) (param $c f32) (param $m f32)
    (local $i i32) (local $p i32) (local $vc v128) (local $vm v128) (local $acc v128) (local $grad v128) (local $s f32) (local $gs f32)
    (local.set $vc (f32x4.splat (local.get $c)))
    (local.set $vm (f32x4.splat (local.get $m)))
    (block $tail
      (loop $four
        (br_if $tail (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $p (i32.shl (local.get $i) (i32.const 2)))
        (local.set $grad (v128.load (i32.add (local.get $g) (local.get $p))))
        (local.set $acc (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $p))) (local.get $vm)) (local.get $grad)))
        (v128.store (i32.add (local.get $a) (local.get $p)) (local.get $acc))
        (v128.store (i32.add (local.get $w) (local.get $p))
          (f32x4.add
            (v128.load (i32.add (local.get $w) (local.get $p)))
            (f32x4.mul (local.get $vc) (f32x4.add (local.get $grad) (f32x4.mul (local.get $acc) (local.get $vm))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $p))))
        (local.set $s (f32.add (f32.mul (f32.load (i32.add (local.get $a) (local.get $p))) (local.get $m)) (local.get $gs)))
        (f32.store (i32.add (local.get $a) (local.get $p)) (local.get $s))
        (f32.store (i32.add (local.get $w) (local.get $p))
          (f32.add
            (f32.load (i32.add (local.get $w) (local.get $p)))
            (f32.mul (local.get $c) (f32.add (local.get $gs) (f32.mul (local.get $s) (local.get $m))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one))))

  ;; mulberry32's output for counter value s (the dropout masks' hash, kernels/fused.ts), four lanes.
  (func $hash4 (param $s v128) (result v128)
    (local $t v128)
    (local.set $t (i32x4.mul (v128.xor (local.get $s) (i32x4.shr_u (local.get $s) (i32.const 15)))
                             (v128.or (local.get $s) (i32x4.splat (i32.const 1)))))
    (local.set $t (v128.xor
                    (i32x4.add (local.get $t)
                               (i32x4.mul (v128.xor (local.get $t) (i32x4.shr_u (local.get $t) (i32.const 7)))
                                          (v128.or (local.get $t) (i32x4.splat (i32.const 61)))))
                    (local.get $t)))
    (v128.xor (local.get $t) (i32x4.shr_u (local.get $t) (i32.const 14))))

  ;; dropoutMask(): out[i] = scale where hash(seed + (i + 1)·0x6d2b79f5) ≥ threshold (unsigned), else 0.
  (func (export "dropoutMask") (param $out i32) (param $n i32) (param $scale f32) (param $threshold i32) (param $seed i32)
    (local $i i32) (local $s v128) (local $step v128) (local $vthreshold v128) (local $vscale v128) (local $lanes v128)
    (local.set $s (i32x4.add (i32x4.splat (local.get $seed))
                             (i32x4.mul (v128.const i32x4 1 2 3 4) (i32x4.splat (i32.const 0x6d2b79f5)))))
    (local.set $step (i32x4.splat (i32.mul (i32.const 4) (i32.const 0x6d2b79f5))))
    (local.set $vthreshold (i32x4.splat (local.get $threshold)))
    (local.set $vscale (f32x4.splat (local.get $scale)))
    ;; Whole vectors, then the last one to three values from the lanes of one more vector.
    (block $tail
      (loop $four
        (br_if $tail (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (v128.and (i32x4.ge_u (call $hash4 (local.get $s)) (local.get $vthreshold)) (local.get $vscale)))
        (local.set $s (i32x4.add (local.get $s) (local.get $step)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (local.set $lanes (v128.and (i32x4.ge_u (call $hash4 (local.get $s)) (local.get $vthreshold)) (local.get $vscale)))
    (if (i32.lt_u (local.get $i) (local.get $n))
      (then (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (f32x4.extract_lane 0 (local.get $lanes)))))
    (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
      (then (f32.store offset=4 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (f32x4.extract_lane 1 (local.get $lanes)))))
    (if (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $n))
      (then (f32.store offset=8 (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (f32x4.extract_lane 2 (local.get $lanes))))))

  ;; tfjs-layers' MaxNorm over the leading axes of a row-major rows×cols kernel w, in place:
  ;; n = √(Σ_rows w²) per column, the squares rounded to float and summed in a double as the
  ;; trainer's Sum kernel sums (kernels/sum.ts's columnSums: in four parts of the rows, each in row
  ;; order from zero, the parts then added in order), the sum rounded to float; then
  ;; w ← w · (clip(n, 0, max) / (ε + n)). `scratch` holds cols doubles twice, then cols floats.
  (func (export "maxNorm") (param $w i32) (param $rows i32) (param $cols i32) (param $max f32) (param $eps f32) (param $scratch i32)
    (local $r i32) (local $c i32) (local $row i32) (local $sums i32) (local $part i32) (local $factors i32) (local $p i32) (local $q i32)
    (local $k i32) (local $end i32) (local $sq v128) (local $n f32)
    (local.set $sums (local.get $scratch))
    (local.set $part (i32.add (local.get $sums) (i32.shl (local.get $cols) (i32.const 3))))
    (local.set $factors (i32.add (local.get $part) (i32.shl (local.get $cols) (i32.const 3))))
    (memory.fill (local.get $sums) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
    ;; Σ w², part by part; in a part row by row (each column's additions in row order).
    (local.set $row (local.get $w))
    (local.set $r (i32.const 0))
    (local.set $k (i32.const 0))
    (block $parts_done
      (loop $parts
        (br_if $parts_done (i32.ge_u (local.get $k) (i32.const 4)))
        (local.set $end (i32.div_u (i32.mul (i32.add (local.get $k) (i32.const 1)) (local.get $rows)) (i32.const 4)))
        (memory.fill (local.get $part) (i32.const 0) (i32.shl (local.get $cols) (i32.const 3)))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_u (local.get $r) (local.get $end)))
            (local.set $c (i32.const 0))
            (block $tail
              (loop $four
                (br_if $tail (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $cols)))
                (local.set $sq (v128.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))))
                (local.set $sq (f32x4.mul (local.get $sq) (local.get $sq)))
                (local.set $q (i32.add (local.get $part) (i32.shl (local.get $c) (i32.const 3))))
                (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.promote_low_f32x4 (local.get $sq))))
                (v128.store offset=16 (local.get $q)
                  (f64x2.add (v128.load offset=16 (local.get $q))
                             (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $sq) (local.get $sq)))))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                (br $four)))
            (block $done
              (loop $one
                (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
                (local.set $n (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))))
                (local.set $q (i32.add (local.get $part) (i32.shl (local.get $c) (i32.const 3))))
                (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (f64.promote_f32 (f32.mul (local.get $n) (local.get $n)))))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $one)))
            (local.set $row (i32.add (local.get $row) (i32.shl (local.get $cols) (i32.const 2))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rows)))
        ;; The column's sum += the part's.
        (local.set $c (i32.const 0))
        (block $added
          (loop $add
            (br_if $added (i32.ge_u (local.get $c) (local.get $cols)))
            (local.set $q (i32.shl (local.get $c) (i32.const 3)))
            (f64.store (i32.add (local.get $sums) (local.get $q))
              (f64.add (f64.load (i32.add (local.get $sums) (local.get $q))) (f64.load (i32.add (local.get $part) (local.get $q)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $add)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $parts)))
    ;; Each column's factor, in float as tfjs's Sqrt, ClipByValue, Add and RealDiv kernels.
    (local.set $c (i32.const 0))
    (block $factors_done
      (loop $factor
        (br_if $factors_done (i32.ge_u (local.get $c) (local.get $cols)))
        (local.set $n (f32.sqrt (f32.demote_f64 (f64.load (i32.add (local.get $sums) (i32.shl (local.get $c) (i32.const 3)))))))
        (f32.store (i32.add (local.get $factors) (i32.shl (local.get $c) (i32.const 2)))
          (f32.div (f32.min (f32.max (local.get $n) (f32.const 0)) (local.get $max))
                   (f32.add (local.get $eps) (local.get $n))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $factor)))
    ;; w ← w · factor, row by row.
    (local.set $row (local.get $w))
    (local.set $r (i32.const 0))
    (block $scaled
      (loop $scale_rows
        (br_if $scaled (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $tail
          (loop $four
            (br_if $tail (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $cols)))
            (local.set $p (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))
            (v128.store (local.get $p)
              (f32x4.mul (v128.load (local.get $p)) (v128.load (i32.add (local.get $factors) (i32.shl (local.get $c) (i32.const 2))))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $four)))
        (block $done
          (loop $one
            (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
            (local.set $p (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))
            (f32.store (local.get $p)
              (f32.mul (f32.load (local.get $p)) (f32.load (i32.add (local.get $factors) (i32.shl (local.get $c) (i32.const 2))))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $one)))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $cols) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $scale_rows))))
  ;; dst ← srcᵀ for a row-major rows×cols matrix (rows a multiple of 4): 4×4 blocks transposed in
  ;; registers, visited in 32×32 tiles so that the strided writes stay in cache (wasm.ts transposeLast2).
  (func (export "transpose") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $i0 i32) (local $j0 i32) (local $i i32) (local $j i32) (local $iend i32) (local $jend i32)
    (local $p i32) (local $q i32) (local $srow i32) (local $drow i32) (local $r i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $srow (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $drow (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $i0 (i32.const 0))
    (block $done_i0
      (loop $tile_i
        (br_if $done_i0 (i32.ge_u (local.get $i0) (local.get $rows)))
        (local.set $iend (select (i32.add (local.get $i0) (i32.const 32)) (local.get $rows)
                                 (i32.lt_u (i32.add (local.get $i0) (i32.const 32)) (local.get $rows))))
        (local.set $j0 (i32.const 0))
        (block $done_j0
          (loop $tile_j
            (br_if $done_j0 (i32.ge_u (local.get $j0) (local.get $cols)))
            (local.set $jend (select (i32.add (local.get $j0) (i32.const 32)) (local.get $cols)
                                     (i32.lt_u (i32.add (local.get $j0) (i32.const 32)) (local.get $cols))))
            (local.set $i (local.get $i0))
            (block $done_i
              (loop $strip
                (br_if $done_i (i32.ge_u (local.get $i) (local.get $iend)))
                (local.set $j (local.get $j0))
                (block $done_j4
                  (loop $block
                    (br_if $done_j4 (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $jend)))
                    (local.set $p (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
                    (local.set $r0 (v128.load (local.get $p)))
                    (local.set $r1 (v128.load (i32.add (local.get $p) (local.get $srow))))
                    (local.set $r2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $srow) (i32.const 1)))))
                    (local.set $r3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $srow) (i32.const 3)))))
                    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                    (local.set $q (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
                    (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                    (v128.store (i32.add (local.get $q) (local.get $drow)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                    (v128.store (i32.add (local.get $q) (i32.shl (local.get $drow) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                    (v128.store (i32.add (local.get $q) (i32.mul (local.get $drow) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $block)))
                ;; The tile's last one to three columns, a value at a time.
                (block $done_j
                  (loop $column
                    (br_if $done_j (i32.ge_u (local.get $j) (local.get $jend)))
                    (local.set $r (i32.const 0))
                    (block $done_r
                      (loop $row
                        (br_if $done_r (i32.ge_u (local.get $r) (i32.const 4)))
                        (f32.store
                          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (i32.add (local.get $i) (local.get $r))) (i32.const 2)))
                          (f32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $cols)) (local.get $j)) (i32.const 2)))))
                        (local.set $r (i32.add (local.get $r) (i32.const 1)))
                        (br $row)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $column)))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $strip)))
            (local.set $j0 (i32.add (local.get $j0) (i32.const 32)))
            (br $tile_j)))
        (local.set $i0 (i32.add (local.get $i0) (i32.const 32)))
        (br $tile_i))))

  ;; ---- The products without the addon (stepSimd.ts sgemm, called by matmul.ts withBlas()) ----
  ;; gemm(a, b, c, m, n, k, transA, transB, acc, p0, p1, scratch): C[:, 8·p0 .. min(8·p1, n)) = A·B,
  ;; or (acc) C + A·B, for A row-major m×k and B row-major k×n, each given as it is or as its
  ;; transpose (transA: k×m; transB: n×k), and C row-major m×n. Each output is summed from kk = 0
  ;; up, one rounding per multiply and per add, so a column's numbers do not depend on which call
  ;; (thread) computes its panel of 8 columns.
  ;; Why: XNNPACK packs its whole `b` operand on every call (a transposing copy, and in training
  ;; the weights are new every step) and reached 41–49 GFLOPS on two threads at a teacher step's
  ;; shapes here. This copies 8 columns of B at a time into a panel that every 4 rows of A then
  ;; run against, in a 4×8 tile of eight v128 accumulators: 37–41 GFLOPS on one thread, 69 for the
  ;; step's products on two (docs/bench-train.md, session 24). XNNPACK's wasm kernels add each
  ;; output's products in the same order with the same roundings: the metrics do not change.
  ;; scratch: 32·k + 128 bytes, 16-aligned: the panel of B (k rows of 8 floats), then a 4×8 tile for
  ;; a last panel narrower than 8 columns.
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $n i32) (param $k i32)
                        (param $transA i32) (param $transB i32) (param $acc i32) (param $p0 i32) (param $p1 i32) (param $scratch i32)
    (local $p i32) (local $j0 i32) (local $w i32) (local $i i32) (local $tile i32) (local $n4 i32) (local $ars i32) (local $aks i32)
    (local.set $tile (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 5))))
    (local.set $n4 (i32.shl (local.get $n) (i32.const 2)))
    ;; A's row i starts at a + i·ars and its values are aks bytes apart: k×m given transposed (transA)
    ;; holds row i down column i.
    (local.set $ars (select (i32.const 4) (i32.shl (local.get $k) (i32.const 2)) (local.get $transA)))
    (local.set $aks (select (i32.shl (local.get $m) (i32.const 2)) (i32.const 4) (local.get $transA)))
    (local.set $p (local.get $p0))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_u (local.get $p) (local.get $p1)))
        (local.set $j0 (i32.shl (local.get $p) (i32.const 3)))
        (br_if $done (i32.ge_u (local.get $j0) (local.get $n)))
        (local.set $w (select (i32.const 8) (i32.sub (local.get $n) (local.get $j0))
                              (i32.le_u (i32.add (local.get $j0) (i32.const 8)) (local.get $n))))
        (call $packPanel (local.get $b) (local.get $n) (local.get $k) (local.get $j0) (local.get $w) (local.get $transB) (local.get $scratch))
        (local.set $i (i32.const 0))
        (block $fours_done
          (loop $fours
            (br_if $fours_done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
            (call $tile4 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $ars))) (local.get $ars) (local.get $aks) (local.get $scratch)
                         (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $n4)) (i32.shl (local.get $j0) (i32.const 2))))
                         (local.get $k) (local.get $n4) (local.get $w) (local.get $acc) (local.get $tile))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $fours)))
        (block $ones_done
          (loop $ones
            (br_if $ones_done (i32.ge_u (local.get $i) (local.get $m)))
            (call $tile1 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $ars))) (local.get $ars) (local.get $aks) (local.get $scratch)
                         (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $n4)) (i32.shl (local.get $j0) (i32.const 2))))
                         (local.get $k) (local.get $n4) (local.get $w) (local.get $acc) (local.get $tile))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $ones)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $panels))))

  ;; Columns j0 .. j0 + w − 1 of B (w ≤ 8) into k rows of 8 floats at dst, zeros after the w-th.
  (func $packPanel (param $b i32) (param $n i32) (param $k i32) (param $j0 i32) (param $w i32) (param $transB i32) (param $dst i32)
    (local $src i32) (local $kk i32) (local $jj i32) (local $n4 i32) (local $k4 i32) (local $d i32)
    (local.set $n4 (i32.shl (local.get $n) (i32.const 2)))
    (local.set $k4 (i32.shl (local.get $k) (i32.const 2)))
    (if (i32.eqz (local.get $transB))
      (then
        ;; Row kk of the panel is B[kk][j0 .. j0 + 8): one row of B after another.
        (local.set $src (i32.add (local.get $b) (i32.shl (local.get $j0) (i32.const 2))))
        (local.set $d (local.get $dst))
        (local.set $kk (i32.const 0))
        (block $done
          (loop $rows
            (br_if $done (i32.ge_u (local.get $kk) (local.get $k)))
            (if (i32.eq (local.get $w) (i32.const 8))
              (then
                (v128.store (local.get $d) (v128.load (local.get $src)))
                (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $src))))
              (else (call $rowToTile (local.get $src) (local.get $w) (local.get $d))))
            (local.set $src (i32.add (local.get $src) (local.get $n4)))
            (local.set $d (i32.add (local.get $d) (i32.const 32)))
            (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
            (br $rows))))
      (else
        ;; B's column j0 + jj is row j0 + jj of the n×k matrix given: lane jj of every panel row.
        ;; A narrower panel is zeroed first, then its w lanes written.
        (if (i32.lt_u (local.get $w) (i32.const 8))
          (then (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $k) (i32.const 5)))))
        (local.set $jj (i32.const 0))
        (block $done
          (loop $columns
            (br_if $done (i32.ge_u (local.get $jj) (local.get $w)))
            (local.set $src (i32.add (local.get $b) (i32.mul (i32.add (local.get $j0) (local.get $jj)) (local.get $k4))))
            (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $jj) (i32.const 2))))
            (local.set $kk (i32.const 0))
            (block $column_done
              (loop $column
                (br_if $column_done (i32.ge_u (local.get $kk) (local.get $k)))
                (f32.store (local.get $d) (f32.load (local.get $src)))
                (local.set $src (i32.add (local.get $src) (i32.const 4)))
                (local.set $d (i32.add (local.get $d) (i32.const 32)))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $column)))
            (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
            (br $columns))))))

  ;; The w (< 8) floats at src into 8 at dst, zeros after them.
  (func $rowToTile (param $src i32) (param $w i32) (param $dst i32)
    (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
    (v128.store offset=16 (local.get $dst) (v128.const i32x4 0 0 0 0))
    (memory.copy (local.get $dst) (local.get $src) (i32.shl (local.get $w) (i32.const 2))))

  ;; The first w (< 8) floats of a tile row into C.
  (func $tileToRow (param $src i32) (param $dst i32) (param $w i32)
    (memory.copy (local.get $dst) (local.get $src) (i32.shl (local.get $w) (i32.const 2))))

  ;; 4 rows of C from A's rows at $arow ($ars bytes apart; a row's next value $aks
  ;; bytes on) against a packed panel of B (k rows of 8 floats): C's 4×$w block at $crow (rows
  ;; $n4 bytes apart), each output summed from kk = 0 up onto 0 or (accumulating) onto its value in C.
  (func $tile4 (param $arow i32) (param $ars i32) (param $aks i32) (param $panel i32) (param $crow i32) (param $k i32)
                 (param $n4 i32) (param $w i32) (param $acc i32) (param $tile i32)
    (local $ap i32) (local $bp i32) (local $kk i32) (local $s v128) (local $b0 v128) (local $b1 v128)
    (local $ro1 i32) (local $ro2 i32) (local $ro3 i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $ro1 (local.get $ars))
    (local.set $ro2 (i32.shl (local.get $ars) (i32.const 1)))
    (local.set $ro3 (i32.mul (local.get $ars) (i32.const 3)))
    (if (local.get $acc)
      (then
        (if (i32.eq (local.get $w) (i32.const 8))
          (then
        (local.set $c00 (v128.load (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0)))))
        (local.set $c01 (v128.load offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0)))))
        (local.set $c10 (v128.load (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 1)))))
        (local.set $c11 (v128.load offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 1)))))
        (local.set $c20 (v128.load (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 2)))))
        (local.set $c21 (v128.load offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 2)))))
        (local.set $c30 (v128.load (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 3)))))
        (local.set $c31 (v128.load offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 3))))))
          (else
        (call $rowToTile (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))) (local.get $w) (i32.add (local.get $tile) (i32.const 0)))
        (local.set $c00 (v128.load offset=0 (local.get $tile)))
        (local.set $c01 (v128.load offset=16 (local.get $tile)))
        (call $rowToTile (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 1))) (local.get $w) (i32.add (local.get $tile) (i32.const 32)))
        (local.set $c10 (v128.load offset=32 (local.get $tile)))
        (local.set $c11 (v128.load offset=48 (local.get $tile)))
        (call $rowToTile (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 2))) (local.get $w) (i32.add (local.get $tile) (i32.const 64)))
        (local.set $c20 (v128.load offset=64 (local.get $tile)))
        (local.set $c21 (v128.load offset=80 (local.get $tile)))
        (call $rowToTile (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 3))) (local.get $w) (i32.add (local.get $tile) (i32.const 96)))
        (local.set $c30 (v128.load offset=96 (local.get $tile)))
        (local.set $c31 (v128.load offset=112 (local.get $tile))))))
      (else
        (local.set $c00 (v128.const i32x4 0 0 0 0))
        (local.set $c01 (v128.const i32x4 0 0 0 0))
        (local.set $c10 (v128.const i32x4 0 0 0 0))
        (local.set $c11 (v128.const i32x4 0 0 0 0))
        (local.set $c20 (v128.const i32x4 0 0 0 0))
        (local.set $c21 (v128.const i32x4 0 0 0 0))
        (local.set $c30 (v128.const i32x4 0 0 0 0))
        (local.set $c31 (v128.const i32x4 0 0 0 0))))
    (local.set $ap (local.get $arow))
    (local.set $bp (local.get $panel))
    (local.set $kk (local.get $k))
    (block $done
      (br_if $done (i32.eqz (local.get $kk)))
      (loop $ks
        (local.set $b0 (v128.load (local.get $bp)))
        (local.set $b1 (v128.load offset=16 (local.get $bp)))
          (local.set $s (v128.load32_splat (local.get $ap)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat (i32.add (local.get $ap) (local.get $ro1))))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat (i32.add (local.get $ap) (local.get $ro2))))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat (i32.add (local.get $ap) (local.get $ro3))))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $s) (local.get $b1))))
        (local.set $ap (i32.add (local.get $ap) (local.get $aks)))
        (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
        (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
        (br_if $ks (local.get $kk))))
    (if (i32.eq (local.get $w) (i32.const 8))
      (then
        (v128.store (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))) (local.get $c00))
        (v128.store offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))) (local.get $c01))
        (v128.store (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 1))) (local.get $c10))
        (v128.store offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 1))) (local.get $c11))
        (v128.store (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 2))) (local.get $c20))
        (v128.store offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 2))) (local.get $c21))
        (v128.store (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 3))) (local.get $c30))
        (v128.store offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 3))) (local.get $c31)))
      (else
        (v128.store offset=0 (local.get $tile) (local.get $c00))
        (v128.store offset=16 (local.get $tile) (local.get $c01))
        (call $tileToRow (i32.add (local.get $tile) (i32.const 0)) (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))) (local.get $w))
        (v128.store offset=32 (local.get $tile) (local.get $c10))
        (v128.store offset=48 (local.get $tile) (local.get $c11))
        (call $tileToRow (i32.add (local.get $tile) (i32.const 32)) (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 1))) (local.get $w))
        (v128.store offset=64 (local.get $tile) (local.get $c20))
        (v128.store offset=80 (local.get $tile) (local.get $c21))
        (call $tileToRow (i32.add (local.get $tile) (i32.const 64)) (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 2))) (local.get $w))
        (v128.store offset=96 (local.get $tile) (local.get $c30))
        (v128.store offset=112 (local.get $tile) (local.get $c31))
        (call $tileToRow (i32.add (local.get $tile) (i32.const 96)) (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 3))) (local.get $w)))))

  ;; 1 row of C from A's row at $arow ($ars bytes apart; a row's next value $aks
  ;; bytes on) against a packed panel of B (k rows of 8 floats): C's 1×$w block at $crow (rows
  ;; $n4 bytes apart), each output summed from kk = 0 up onto 0 or (accumulating) onto its value in C.
  (func $tile1 (param $arow i32) (param $ars i32) (param $aks i32) (param $panel i32) (param $crow i32) (param $k i32)
                 (param $n4 i32) (param $w i32) (param $acc i32) (param $tile i32)
    (local $ap i32) (local $bp i32) (local $kk i32) (local $s v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128)
    (if (local.get $acc)
      (then
        (if (i32.eq (local.get $w) (i32.const 8))
          (then
        (local.set $c00 (v128.load (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0)))))
        (local.set $c01 (v128.load offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))))))
          (else
        (call $rowToTile (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))) (local.get $w) (i32.add (local.get $tile) (i32.const 0)))
        (local.set $c00 (v128.load offset=0 (local.get $tile)))
        (local.set $c01 (v128.load offset=16 (local.get $tile))))))
      (else
        (local.set $c00 (v128.const i32x4 0 0 0 0))
        (local.set $c01 (v128.const i32x4 0 0 0 0))))
    (local.set $ap (local.get $arow))
    (local.set $bp (local.get $panel))
    (local.set $kk (local.get $k))
    (block $done
      (br_if $done (i32.eqz (local.get $kk)))
      (loop $ks
        (local.set $b0 (v128.load (local.get $bp)))
        (local.set $b1 (v128.load offset=16 (local.get $bp)))
          (local.set $s (v128.load32_splat (local.get $ap)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $b1))))
        (local.set $ap (i32.add (local.get $ap) (local.get $aks)))
        (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
        (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
        (br_if $ks (local.get $kk))))
    (if (i32.eq (local.get $w) (i32.const 8))
      (then
        (v128.store (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))) (local.get $c00))
        (v128.store offset=16 (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))) (local.get $c01)))
      (else
        (v128.store offset=0 (local.get $tile) (local.get $c00))
        (v128.store offset=16 (local.get $tile) (local.get $c01))
        (call $tileToRow (i32.add (local.get $tile) (i32.const 0)) (i32.add (local.get $crow) (i32.mul (local.get $n4) (i32.const 0))) (local.get $w)))))
)
