// distill_blas: the system BLAS's cblas_sgemm for the trainer's wasm kernels (docs/architecture.md §5):
// OpenBLAS on Linux, Accelerate on macOS (binding.gyp chooses); and one-pass loops for what a
// training step runs as several tfjs kernels (the momentum update, dropout, max-norm, dense ReLU,
// column sums, the batch's gather).
//
// Why: the wasm backend's matmuls reach ~25 GFLOPS at best; OpenBLAS reaches 5–10× that at the
// trainer's shapes. The wasm module's memory is an ordinary ArrayBuffer, so a kernel can hand
// Float32Array views of its tensors straight to this addon: no copies, and transposes become
// sgemm's TransA/TransB flags instead of materialised copies.
//
// Plain C on node_api.h (NAPI_VERSION 8, ABI-stable): one build loads in Node and Electron.
// Every call is synchronous: OpenBLAS fans out to its own threads (the products, and the big
// momentum and max-norm passes below) and returns when they are done, so the views' memory cannot
// move or be freed during a call. Every extent is checked against the views' lengths, so a wrong
// argument throws instead of reading or writing out of bounds.

#ifdef DISTILL_ACCELERATE
// macOS: Apple's Accelerate framework has cblas_sgemm on every Mac (AMX/NEON on Apple silicon);
// it has no OpenBLAS introspection and manages its own threads.
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif
#include <limits.h>
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// On a failed napi call: throw (unless an exception is already pending) and return NULL.
#define NAPI_OK(env, call)                                                    \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      bool pending = false;                                                   \
      napi_is_exception_pending((env), &pending);                             \
      if (!pending) napi_throw_error((env), NULL, "distill_blas: " #call);    \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

// A loop compute-bound on SSE2 (the build's baseline) gets one copy per instruction set on x86-64
// Linux, chosen when the library loads (the numbers are the same in each: no FMA contraction in
// ISO C, and vectorising across columns does not reorder a column's additions).
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define CLONES_PER_ISA __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES_PER_ISA
#endif

#define FAIL(env, msg)                            \
  do {                                            \
    napi_throw_range_error((env), NULL, (msg));   \
    return NULL;                                  \
  } while (0)

static bool get_bool(napi_env env, napi_value v, bool* out) {
  return napi_get_value_bool(env, v, out) == napi_ok;
}

// A non-negative integer that fits a blasint (OpenBLAS's LP64 build: int).
static bool get_dim(napi_env env, napi_value v, int64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!(d >= 0 && d <= INT_MAX) || d != (double)(int64_t)d) return false;
  *out = (int64_t)d;
  return true;
}

// An attached typed array of the given type: its data and length (NULL data means detached).
static bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  bool is_ta = false;
  napi_typedarray_type type;
  void* p = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  if (napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL) != napi_ok) return false;
  if (type != want || (p == NULL && *len > 0)) return false;
  *data = p;
  return true;
}

static bool get_f32(napi_env env, napi_value v, float** data, size_t* len) {
  void* p;
  if (!get_typed(env, v, napi_float32_array, &p, len)) return false;
  *data = p;
  return true;
}

static bool get_i32(napi_env env, napi_value v, int32_t** data, size_t* len) {
  void* p;
  if (!get_typed(env, v, napi_int32_array, &p, len)) return false;
  *data = p;
  return true;
}

// Floats a batch of row-major rows×cols matrices with leading dimension ld touches.
static int64_t extent(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

// sgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc[, batch, strideA, strideB, strideC])
// Row-major C = alpha·op(A)·op(B) + beta·C, for `batch` matrices at the given strides (floats;
// 0 repeats one operand for every entry). A, B, C: Float32Arrays whose element 0 is the first
// matrix's element 0. C must not overlap A or B.
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 17;
  napi_value argv[17];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 13 && argc != 17) FAIL(env, "sgemm: expected 13 or 17 arguments");

  bool ta, tb;
  int64_t m, n, k, lda, ldb, ldc, batch = 1, sa = 0, sb = 0, sc = 0;
  double alpha, beta;
  float *a, *b, *c;
  size_t alen, blen, clen;
  if (!get_bool(env, argv[0], &ta) || !get_bool(env, argv[1], &tb)) FAIL(env, "sgemm: transA/transB must be booleans");
  if (!get_dim(env, argv[2], &m) || !get_dim(env, argv[3], &n) || !get_dim(env, argv[4], &k) ||
      !get_dim(env, argv[7], &lda) || !get_dim(env, argv[9], &ldb) || !get_dim(env, argv[12], &ldc))
    FAIL(env, "sgemm: m, n, k and leading dimensions must be integers in [0, INT_MAX]");
  if (napi_get_value_double(env, argv[5], &alpha) != napi_ok || napi_get_value_double(env, argv[10], &beta) != napi_ok)
    FAIL(env, "sgemm: alpha/beta must be numbers");
  if (!get_f32(env, argv[6], &a, &alen) || !get_f32(env, argv[8], &b, &blen) || !get_f32(env, argv[11], &c, &clen))
    FAIL(env, "sgemm: A, B and C must be attached Float32Arrays");
  if (argc == 17 && (!get_dim(env, argv[13], &batch) || !get_dim(env, argv[14], &sa) ||
                     !get_dim(env, argv[15], &sb) || !get_dim(env, argv[16], &sc)))
    FAIL(env, "sgemm: batch and strides must be integers in [0, INT_MAX]");

  // Stored shapes: op(A) is m×k, op(B) is k×n.
  int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
  if (lda < (ac > 1 ? ac : 1) || ldb < (bc > 1 ? bc : 1) || ldc < (n > 1 ? n : 1)) FAIL(env, "sgemm: leading dimension too small");
  if (batch == 0 || m == 0 || n == 0) return NULL;
  if (batch > 1 && sc < extent(1, 0, m, n, ldc)) FAIL(env, "sgemm: C matrices of the batch overlap");
  if (extent(batch, sc, m, n, ldc) > (int64_t)clen) FAIL(env, "sgemm: C is too short");
  if (k > 0 && (extent(batch, sa, ar, ac, lda) > (int64_t)alen || extent(batch, sb, br, bc, ldb) > (int64_t)blen))
    FAIL(env, "sgemm: A or B is too short");

  for (int64_t i = 0; i < batch; i++) {
    float* ci = c + i * sc;
    if (k == 0) {
      // op(A)·op(B) is all zeros; C = beta·C (beta 0 overwrites, as in BLAS: NaNs do not survive).
      for (int64_t r = 0; r < m; r++)
        for (int64_t j = 0; j < n; j++) ci[r * ldc + j] = beta == 0 ? 0.0f : (float)beta * ci[r * ldc + j];
      continue;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                (float)alpha, a + i * sa, (int)lda, b + i * sb, (int)ldb, (float)beta, ci, (int)ldc);
  }
  return NULL;
}

// ---- Passes split across OpenBLAS's own threads ----
// Why: the momentum and max-norm passes over a big kernel are memory-bound, and one core moves
// about half of what two do. A helper thread of our own lost that gain (session 17,
// docs/bench-train.md): between products OpenBLAS's worker spins on the other core, and making
// it sleep instead cost more in waking it for every product. So these passes run where the
// products run: blas_level1_thread(), OpenBLAS's splitter for its threaded level-1 routines
// (exported, not in cblas.h), gives each of its threads a share of a range, the calling thread
// one of them, and returns when all are done.
typedef void (*RangePass)(const void* job, size_t begin, size_t end);

// Below this many floats (1 MB) a pass stays on the calling thread. A share is only quick when its
// rows are already in its thread's cache (the same rows every step); a batch's bias gradients
// (128×1200) took 0.04–0.09 ms a step on one thread and 0.09–0.14 ms split.
#define SPLIT_MIN_FLOATS (1 << 18)

#ifndef DISTILL_ACCELERATE
// Weak: a serial OpenBLAS build has no splitter; every pass then runs on the calling thread.
extern int blas_level1_thread(int mode, long m, long n, long k, void* alpha, void* a, long lda, void* b, long ldb, void* c,
                              long ldc, int (*function)(void), int nthreads) __attribute__((weak));

typedef struct {
  RangePass pass;
  const void* job;
} SplitRange;

// Called by OpenBLAS as a "legacy" single-precision level-1 kernel (m, n, k, alpha, a, lda, b, ldb,
// c, ldc, buffer): m is this thread's share, and a its start (NULL advanced 4 bytes an element:
// the same thread gets the same share every call, so its rows stay in its cache); c is ours.
static int split_range_worker(long m, long n, long k, float alpha, float* a, long lda, float* b, long ldb, void* c, long ldc,
                              void* buffer) {
  (void)n, (void)k, (void)alpha, (void)lda, (void)b, (void)ldb, (void)ldc, (void)buffer;
  const SplitRange* split = c;
  const size_t begin = (uintptr_t)a / sizeof(float);
  split->pass(split->job, begin, begin + (size_t)m);
  return 0;
}

// BLAS_SINGLE is 2 in OpenBLAS's thread modes since 0.3.11 (0 before, when 2 meant extended
// precision, another calling convention): older versions keep to one thread.
static bool splitter_usable(void) {
  static int usable = -1;
  if (usable < 0) {
    int major = 0, minor = 0, patch = 0;
    usable = blas_level1_thread && sscanf(openblas_get_config(), "OpenBLAS %d.%d.%d", &major, &minor, &patch) == 3 &&
             (major > 0 || minor > 3 || (minor == 3 && patch >= 11));
  }
  return usable;
}
#endif

// pass(job, begin, end) over [0, n), split across OpenBLAS's threads when the pass touches at
// least SPLIT_MIN_FLOATS floats. Each index is one thread's, so the numbers do not depend on it.
static void run_split(RangePass pass, const void* job, size_t n, size_t floats) {
#ifndef DISTILL_ACCELERATE
  const int threads = openblas_get_num_threads();
  if (threads > 1 && n > 1 && floats >= SPLIT_MIN_FLOATS && splitter_usable()) {
    const SplitRange split = {pass, job};
    float unused = 0;
    blas_level1_thread(0x2 /* BLAS_SINGLE | BLAS_REAL */, (long)n, 0, 0, &unused, NULL, 1, NULL, 0, (void*)&split, 0,
                       (int (*)(void))(void (*)(void))split_range_worker, n < (size_t)threads ? (int)n : threads);
    return;
  }
#else
  (void)floats;
#endif
  pass(job, 0, n);
}

// One weight's step: a ← m·a + g; the new weight w + c·a (Nesterov: w + c·(g + m·a)), c = −lr,
// each operation rounded to float in tfjs's order.
static inline float momentum_update(float w, float* a, float g, float c, float m, bool nesterov) {
  const float next = *a * m + g;
  *a = next;
  return nesterov ? w + c * (g + next * m) : w + c * next;
}

// The same step where the accumulation is kept scaled (holds m·a between steps; not Nesterov):
// a ← s + g, where s is the stored m·a and the kernel's gradient may already have been added into
// it by the product that computed it (sgemm with beta 1; then g holds only what else the tape
// summed, or nothing: g NULL). Stores m·a for the next step; returns w + c·a. The same roundings as
// momentum_update's: fl(fl(m·a) + g), then w + c·a.
static inline float momentum_update_scaled(float w, float* a, float g, float c, float m) {
  const float next = *a + g;
  *a = next * m;
  return w + c * next;
}
static inline float momentum_update_summed(float w, float* a, float c, float m) {
  const float next = *a;
  *a = next * m;
  return w + c * next;
}

// The column sums' four parts (below), one row of `stride` doubles each: a multiple of eight, so
// each part's sums start on their own cache line and two threads never write one line.
typedef struct {
  double* sums;
  size_t stride;
} Parts;

// One momentum step: the variable, its accumulation and gradient; for momentumMaxNorm() also the
// kernel's shape and its column sums' parts.
typedef struct {
  float *w, *acc;
  const float* g;  // NULL: nothing to add (scaled only)
  float c, m;
  bool nesterov;
  bool scaled;  // the accumulation holds m·a (momentum_update_scaled)
  size_t rows, cols;
  Parts parts;
} MomentumJob;

static void momentum_elements(const void* job, size_t begin, size_t end) {
  const MomentumJob* j = job;
  float* restrict w = j->w;
  float* restrict acc = j->acc;
  const float* restrict g = j->g;
  const float c = j->c, m = j->m;
  if (j->scaled && !g) {
    for (size_t i = begin; i < end; i++) w[i] = momentum_update_summed(w[i], &acc[i], c, m);
  } else if (j->scaled) {
    for (size_t i = begin; i < end; i++) w[i] = momentum_update_scaled(w[i], &acc[i], g[i], c, m);
  } else if (j->nesterov) {
    for (size_t i = begin; i < end; i++) w[i] = momentum_update(w[i], &acc[i], g[i], c, m, true);
  } else {
    for (size_t i = begin; i < end; i++) w[i] = momentum_update(w[i], &acc[i], g[i], c, m, false);
  }
}

// The arguments momentum() and momentumMaxNorm() share, (value, accumulation, gradient, lr,
// momentum, nesterov) and the optional `scaled` at argv[scaled_at], into `job`, with the three
// arrays' lengths (a null gradient, allowed only when scaled, counts as the value's length); else
// throws "<name>: …" and returns false. Each caller checks the lengths against its own shape.
static bool get_momentum_args(napi_env env, const char* name, napi_value* argv, size_t argc, size_t scaled_at, MomentumJob* job, size_t lens[3]) {
  float *w, *acc, *g = NULL;
  double lr, mom;
  bool nesterov, scaled = false;
  napi_valuetype g_type = napi_undefined;
  const char* problem = NULL;
  if (argc > scaled_at && !get_bool(env, argv[scaled_at], &scaled)) problem = "scaled must be a boolean";
  else if (napi_typeof(env, argv[2], &g_type) != napi_ok || !get_f32(env, argv[0], &w, &lens[0]) || !get_f32(env, argv[1], &acc, &lens[1]) ||
           (g_type == napi_null ? !scaled : !get_f32(env, argv[2], &g, &lens[2])))
    problem = "value, accumulation and gradient must be attached Float32Arrays (the gradient may be null when scaled)";
  else if (napi_get_value_double(env, argv[3], &lr) != napi_ok || napi_get_value_double(env, argv[4], &mom) != napi_ok || !get_bool(env, argv[5], &nesterov))
    problem = "lr and momentum must be numbers, nesterov a boolean";
  else if (scaled && nesterov) problem = "a scaled accumulation is not for Nesterov's update";
  if (problem) {
    char message[200];
    snprintf(message, sizeof message, "%s: %s", name, problem);
    napi_throw_range_error(env, NULL, message);
    return false;
  }
  if (!g) lens[2] = lens[0];
  *job = (MomentumJob){w, acc, g, (float)-lr, (float)mom, nesterov, scaled, 0, 0, {NULL, 0}};
  return true;
}

// momentum(value, accumulation, gradient, lr, momentum, nesterov[, scaled]): one step of SGD with
// momentum, in place, for one variable: a ← m·a + g; w ← w + (−lr)·a (Nesterov: w ← w +
// (−lr)·(g + m·a)). With `scaled`, the accumulation holds m·a between steps (momentum_update_scaled;
// the gradient may be null when the product already added it).
// Why: tfjs's MomentumOptimizer runs four to six elementwise kernels per variable, each a pass
// over memory and a fresh tensor; this is one pass. Each operation is rounded to float in
// tfjs's order (ISO C: no FMA contraction), so the weights are bit for bit tfjs's.
static napi_value Momentum(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6 && argc != 7) FAIL(env, "momentum: expected 6 or 7 arguments");
  MomentumJob job;
  size_t len[3];
  if (!get_momentum_args(env, "momentum", argv, argc, 6, &job, len)) return NULL;
  if (len[0] != len[1] || len[0] != len[2]) FAIL(env, "momentum: value, accumulation and gradient must have the same length");
  run_split(momentum_elements, &job, len[0], len[0]);
  return NULL;
}

// Value i of the mulberry32 stream seeded with `seed` (its state after i + 1 steps, hashed).
static inline uint32_t mulberry32_at(uint32_t seed, size_t i) {
  const uint32_t s = seed + (uint32_t)(i + 1) * 0x6d2b79f5u;
  uint32_t t = (s ^ (s >> 15)) * (1u | s);
  t = (t + ((t ^ (t >> 7)) * (61u | t))) ^ t;
  return t ^ (t >> 14);
}

// The dropout keep-mask loop: each value a function of its index alone (mulberry32 hashes a counter),
// compared as an integer, so it vectorises; on x86-64 Linux one copy per instruction set, chosen
// when the library loads. 0.5 → 0.06 ms for the Hinton teacher's 0.4 M values a step.
CLONES_PER_ISA
static void fill_dropout_mask(float* out, size_t n, float scale, uint32_t threshold, uint32_t seed) {
  for (size_t i = 0; i < n; i++) out[i] = mulberry32_at(seed, i) >= threshold ? scale : 0.0f;
}

// A dropout mask's (rate, seed) arguments as its loops use them: kept ⇔ u / 2^32 ≥ rate ⇔
// u ≥ ⌈rate·2^32⌉ for the hash u, an integer (rate·2^32 is exact in a double); a threshold of 2^32
// (rate within 2^-32 of 1) keeps nothing. False for a rate outside (0, 1) or a seed outside [0, 2^32).
typedef struct {
  float scale;
  uint32_t threshold, seed;
  bool none;
} MaskParams;

static bool get_mask_params(napi_env env, napi_value rate_v, napi_value seed_v, MaskParams* p) {
  double rate, seed;
  if (napi_get_value_double(env, rate_v, &rate) != napi_ok || !(rate > 0 && rate < 1)) return false;
  if (napi_get_value_double(env, seed_v, &seed) != napi_ok || !(seed >= 0 && seed < 4294967296.0)) return false;
  const double threshold = ceil(rate * 4294967296.0);
  p->none = threshold >= 4294967296.0;
  p->threshold = p->none ? 0 : (uint32_t)threshold;
  p->scale = (float)(1.0 / (1.0 - rate));
  p->seed = (uint32_t)seed;
  return true;
}

// dropoutMask(out, rate, seed): out[i] = 1/(1 − rate) with probability 1 − rate, else 0, from the
// mulberry32 stream seeded with `seed` — the same numbers as dropoutMask() in src/trainer/kernels/fused.ts,
// written straight into the tensor's memory (the Hinton teacher draws 0.4 M of them a step).
static napi_value DropoutMask(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) FAIL(env, "dropoutMask: expected 3 arguments");
  float* out;
  size_t n;
  MaskParams mask;
  if (!get_f32(env, argv[0], &out, &n)) FAIL(env, "dropoutMask: out must be an attached Float32Array");
  if (!get_mask_params(env, argv[1], argv[2], &mask)) FAIL(env, "dropoutMask: rate must be in (0, 1) and seed in [0, 2^32)");
  if (mask.none) {
    for (size_t i = 0; i < n; i++) out[i] = 0.0f;
    return NULL;
  }
  fill_dropout_mask(out, n, mask.scale, mask.threshold, mask.seed);
  return NULL;
}

// The dropout mask of fill_dropout_mask() applied to x in the same pass: out[i] = x[i]·mask[i]. The
// product tf.mul(x, mask) computes, without the mask in memory: the forward pass's dropout, and,
// called on dy with the same (rate, seed), its gradient.
CLONES_PER_ISA
static void apply_dropout(const float* restrict x, float* restrict out, size_t n, float scale, uint32_t threshold, uint32_t seed) {
  for (size_t i = 0; i < n; i++) out[i] = x[i] * (mulberry32_at(seed, i) >= threshold ? scale : 0.0f);
}

// dropout(x, out, rate, seed): out = x · dropoutMask(rate, seed), elementwise (out may be x).
static napi_value Dropout(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) FAIL(env, "dropout: expected 4 arguments");
  float *x, *out;
  size_t n, outlen;
  MaskParams mask;
  if (!get_f32(env, argv[0], &x, &n) || !get_f32(env, argv[1], &out, &outlen)) FAIL(env, "dropout: x and out must be attached Float32Arrays");
  if (outlen != n) FAIL(env, "dropout: x and out must have the same length");
  if (!get_mask_params(env, argv[2], argv[3], &mask)) FAIL(env, "dropout: rate must be in (0, 1) and seed in [0, 2^32)");
  // Nothing kept: x·0 (so NaN and ±∞ stay NaN, as in the product).
  if (mask.none) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] * 0.0f;
    return NULL;
  }
  apply_dropout(x, out, n, mask.scale, mask.threshold, mask.seed);
  return NULL;
}

// A dense layer's bias and ReLU on its product, in place: c ← relu(c + bias) (bias may be absent),
// with the numbers of tfjs's Add and then Relu kernels (relu keeps NaN and −0, as XNNPACK's clamp).
CLONES_PER_ISA
static void bias_relu(float* restrict c, const float* restrict bias, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; r++) {
    float* restrict row = c + r * cols;
    if (bias) {
      for (size_t j = 0; j < cols; j++) {
        const float v = row[j] + bias[j];
        row[j] = v < 0.0f ? 0.0f : v;
      }
    } else {
      for (size_t j = 0; j < cols; j++) row[j] = row[j] < 0.0f ? 0.0f : row[j];
    }
  }
}

// biasRelu(c, rows, cols, bias | null): see bias_relu.
static napi_value BiasRelu(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) FAIL(env, "biasRelu: expected 4 arguments");
  float *c, *bias = NULL;
  size_t clen, blen = 0;
  int64_t rows, cols;
  napi_valuetype bias_type;
  if (!get_f32(env, argv[0], &c, &clen)) FAIL(env, "biasRelu: c must be an attached Float32Array");
  if (!get_dim(env, argv[1], &rows) || !get_dim(env, argv[2], &cols)) FAIL(env, "biasRelu: rows and cols must be integers");
  if ((int64_t)clen != rows * cols) FAIL(env, "biasRelu: c must hold rows × cols floats");
  if (napi_typeof(env, argv[3], &bias_type) != napi_ok) return NULL;
  if (bias_type != napi_null && (!get_f32(env, argv[3], &bias, &blen) || (int64_t)blen != cols)) FAIL(env, "biasRelu: bias must be null or cols floats");
  bias_relu(c, bias, (size_t)rows, (size_t)cols);
  return NULL;
}

// ReLU's gradient from its output: g = dy · step(y), step 1 where y > 0, NaN where y is NaN, else
// 0 — tfjs's dy·step(x) on the layer's pre-activation x, which has the same sign and NaNs as y.
CLONES_PER_ISA
static void relu_grad(const float* restrict dy, const float* restrict y, float* restrict g, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float s = y[i] > 0.0f ? 1.0f : (y[i] != y[i] ? y[i] : 0.0f);
    g[i] = dy[i] * s;
  }
}

// reluGrad(dy, y, g): see relu_grad.
static napi_value ReluGrad(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) FAIL(env, "reluGrad: expected 3 arguments");
  float *dy, *y, *g;
  size_t n, ylen, glen;
  if (!get_f32(env, argv[0], &dy, &n) || !get_f32(env, argv[1], &y, &ylen) || !get_f32(env, argv[2], &g, &glen))
    FAIL(env, "reluGrad: dy, y and g must be attached Float32Arrays");
  if (ylen != n || glen != n) FAIL(env, "reluGrad: dy, y and g must have the same length");
  relu_grad(dy, y, g, n);
  return NULL;
}

// gatherImages(x, index, h, w, c, shifts | null, background, out): a training batch written
// straight into its tensor's memory — image i of the batch is image index[i] of x (NHWC rows of
// h·w·c), moved by (shifts[2i], shifts[2i+1]) = (dy, dx) pixels, the uncovered border filled with
// `background` (Hinton's jitter; the offsets are drawn in JS, so the random stream is the same on
// every path). The same values as gatherRows() and jitterImages() in src/trainer/batches.ts, with
// no JS array in between.
static napi_value GatherImages(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 8) FAIL(env, "gatherImages: expected 8 arguments");
  float *x, *out;
  int32_t *index, *shifts = NULL;
  size_t xlen, outlen, nidx, nshift = 0;
  int64_t h, w, c;
  double background;
  if (!get_f32(env, argv[0], &x, &xlen) || !get_f32(env, argv[7], &out, &outlen)) FAIL(env, "gatherImages: x and out must be attached Float32Arrays");
  if (!get_i32(env, argv[1], &index, &nidx)) FAIL(env, "gatherImages: index must be an Int32Array");
  if (!get_dim(env, argv[2], &h) || !get_dim(env, argv[3], &w) || !get_dim(env, argv[4], &c) || h < 1 || w < 1 || c < 1) FAIL(env, "gatherImages: h, w and c must be integers ≥ 1");
  napi_valuetype shifts_type;
  if (napi_typeof(env, argv[5], &shifts_type) != napi_ok) return NULL;
  if (shifts_type != napi_null && (!get_i32(env, argv[5], &shifts, &nshift) || nshift != 2 * nidx))
    FAIL(env, "gatherImages: shifts must be null or an Int32Array of two offsets per image");
  if (napi_get_value_double(env, argv[6], &background) != napi_ok) FAIL(env, "gatherImages: background must be a number");
  const size_t line = (size_t)(w * c), row = (size_t)h * line, images = xlen / row;
  if (outlen != nidx * row) FAIL(env, "gatherImages: out must hold index.length images");
  for (size_t i = 0; i < nidx; i++)
    if (index[i] < 0 || (size_t)index[i] >= images) FAIL(env, "gatherImages: an index is outside x");
  const float fill = (float)background;
  for (size_t i = 0; i < nidx; i++) {
    const float* src = x + (size_t)index[i] * row;
    float* dst = out + i * row;
    const int64_t dy = shifts ? shifts[2 * i] : 0, dx = shifts ? shifts[2 * i + 1] : 0;
    if (dy == 0 && dx == 0) {
      memcpy(dst, src, row * sizeof(float));
      continue;
    }
    // Output line y shows source line y − dy, moved dx pixels right; columns [x0, x1) come from it.
    const int64_t x0 = (dx > 0 ? dx : 0) * c, x1 = (dx < 0 ? w + dx : w) * c;
    for (int64_t y = 0; y < h; y++) {
      float* to = dst + (size_t)y * line;
      const int64_t sy = y - dy;
      if (sy < 0 || sy >= h || x1 <= x0) {
        for (size_t k = 0; k < line; k++) to[k] = fill;
        continue;
      }
      const float* from = src + (size_t)sy * line - dx * c;
      for (int64_t k = 0; k < x0; k++) to[k] = fill;
      memcpy(to + x0, from + x0, (size_t)(x1 - x0) * sizeof(float));
      for (int64_t k = x1; k < (int64_t)line; k++) to[k] = fill;
    }
  }
  return NULL;
}

// Makes *buf hold at least `bytes`, keeping it when it already does; false when out of memory.
// Scratch is kept between calls (only the JS thread calls the addon): a fresh large block per
// call can be fresh pages (glibc maps large blocks), and faulting them in costs.
static bool grow(void** buf, size_t* cap, size_t bytes) {
  if (*cap >= bytes) return true;
  void* bigger = realloc(*buf, bytes);
  if (!bigger) return false;
  *buf = bigger;
  *cap = bytes;
  return true;
}

// ---- Column sums: bias gradients and max-norm's column norms ----
// Each column's Σ over the rows of x (or of x², each square rounded to float first) in a double,
// in four parts of the rows: part p is rows ⌊p·rows/4⌋ to ⌊(p+1)·rows/4⌋ − 1, each part added in
// row order from zero, then the four parts' sums added in order. The path without the addon sums
// the same way (columnSums() in src/trainer/kernels/sum.ts, the SIMD module's maxNorm), so both
// paths' bias gradients and max-norms are the same bit for bit.
// Why four parts: up to four threads can each take whole parts with the same numbers on any
// number of threads (row order across the whole kernel would chain every row to the one before).
#define SUM_PARTS 4

static size_t part_start(size_t p, size_t rows) { return p * rows / SUM_PARTS; }

// Eight rows per sweep of the accumulators: the same additions in the same order, one load and
// store of each double per eight rows (a row at a time, the accumulators' traffic was the
// bottleneck). 1200×1200: 0.10 ms with AVX-512 against 0.28 for the product ones·x² it replaced.
static inline float term(float v, bool squares) { return squares ? v * v : v; }

static inline void column_sums_of(const float* restrict x, double* restrict acc, size_t rows, size_t cols, bool squares) {
  for (size_t c = 0; c < cols; c++) acc[c] = 0;
  size_t r = 0;
  for (; r + 8 <= rows; r += 8) {
    const float* restrict row = x + r * cols;
    for (size_t c = 0; c < cols; c++) {
      double s = acc[c];
      for (size_t k = 0; k < 8; k++) s += term(row[k * cols + c], squares);
      acc[c] = s;
    }
  }
  for (; r < rows; r++)
    for (size_t c = 0; c < cols; c++) acc[c] += term(x[r * cols + c], squares);
}

static bool parts_for(size_t cols, Parts* parts) {
  static void* buf;
  static size_t cap;
  const size_t stride = (cols + 7) & ~(size_t)7, bytes = sizeof(double) * stride * SUM_PARTS;
  if (cap < bytes) {
    free(buf);
    cap = 0;
    if (!(buf = aligned_alloc(64, bytes))) return false;
    cap = bytes;
  }
  *parts = (Parts){buf, stride};
  return true;
}

// total[c] = ((part 0 + part 1) + part 2) + part 3.
static void add_parts(const Parts* parts, double* total, size_t cols) {
  for (size_t c = 0; c < cols; c++) total[c] = parts->sums[c];
  for (size_t p = 1; p < SUM_PARTS; p++)
    for (size_t c = 0; c < cols; c++) total[c] += parts->sums[p * parts->stride + c];
}

typedef struct {
  const float* x;
  size_t rows, cols;
  bool squares;
  Parts parts;
} ColumnSumsJob;

// Two copies of the loop, each with the choice of term known to the compiler.
CLONES_PER_ISA
static void column_sums_parts(const void* job, size_t begin, size_t end) {
  const ColumnSumsJob* j = job;
  for (size_t p = begin; p < end; p++) {
    const size_t r0 = part_start(p, j->rows), r1 = part_start(p + 1, j->rows);
    double* acc = j->parts.sums + p * j->parts.stride;
    if (j->squares) column_sums_of(j->x + r0 * j->cols, acc, r1 - r0, j->cols, true);
    else column_sums_of(j->x + r0 * j->cols, acc, r1 - r0, j->cols, false);
  }
}

// One double per column.
static double* column_scratch(size_t cols) {
  static void* sums;
  static size_t cap;
  return grow(&sums, &cap, sizeof(double) * cols) ? sums : NULL;
}

// The column sums above into total (cols doubles). False when out of memory.
static bool column_sums(const float* x, double* total, size_t rows, size_t cols, bool squares) {
  ColumnSumsJob job = {x, rows, cols, squares, {NULL, 0}};
  if (!parts_for(cols, &job.parts)) return false;
  run_split(column_sums_parts, &job, SUM_PARTS, rows * cols);
  add_parts(&job.parts, total, cols);
  return true;
}

// columnSums(x, rows, cols, out): out[c] = Σ_r x[r·cols + c] as above, rounded to float.
// Why: the Sum kernel's fast path for a leading-axes sum (bias gradients).
static napi_value ColumnSums(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) FAIL(env, "columnSums: expected 4 arguments");
  float *x, *out;
  size_t xlen, outlen;
  int64_t rows, cols;
  if (!get_f32(env, argv[0], &x, &xlen) || !get_f32(env, argv[3], &out, &outlen)) FAIL(env, "columnSums: x and out must be attached Float32Arrays");
  if (!get_dim(env, argv[1], &rows) || !get_dim(env, argv[2], &cols) || cols < 1) FAIL(env, "columnSums: rows and cols must be integers, cols ≥ 1");
  if ((int64_t)xlen != rows * cols || (int64_t)outlen != cols) FAIL(env, "columnSums: x must hold rows × cols floats and out cols");
  double* acc = column_scratch((size_t)cols);
  if (!acc || !column_sums(x, acc, (size_t)rows, (size_t)cols, false)) FAIL(env, "columnSums: out of memory");
  for (int64_t c = 0; c < cols; c++) out[c] = (float)acc[c];
  return NULL;
}

// ---- Max-norm ----
typedef struct {
  float* w;
  const float* factor;
  size_t rows, cols;
} ScaleJob;

// Rows of parts [begin, end): the rows a part's thread just summed (or updated) are in its cache.
static void scale_parts(const void* job, size_t begin, size_t end) {
  const ScaleJob* j = job;
  const size_t cols = j->cols;
  const float* restrict factor = j->factor;
  for (size_t r = part_start(begin, j->rows); r < part_start(end, j->rows); r++) {
    float* restrict row = j->w + r * cols;
    for (size_t c = 0; c < cols; c++) row[c] = row[c] * factor[c];
  }
}

// w ← w · (clip(n, 0, max) / (ε + n)) per column, n = √sums[c]: each column's factor in float as
// tfjs's Sqrt, ClipByValue, Add and RealDiv kernels compute it. False when out of memory.
static bool scale_columns(float* w, const double* sums, size_t rows, size_t cols, double max_value, double eps) {
  static void* factors;
  static size_t factors_cap;
  if (!grow(&factors, &factors_cap, sizeof(float) * cols)) return false;
  float* factor = factors;
  const float hi = (float)max_value, e = (float)eps;
  for (size_t c = 0; c < cols; c++) {
    const float n = sqrtf((float)sums[c]);
    const float desired = n < 0.0f ? 0.0f : (n > hi ? hi : n);
    factor[c] = desired / (e + n);
  }
  const ScaleJob job = {w, factor, rows, cols};
  run_split(scale_parts, &job, SUM_PARTS, rows * cols);
  return true;
}

// maxNorm(w, rows, cols, maxValue, epsilon): the max-norm constraint on a row-major rows×cols
// kernel, in place, as tfjs-layers' MaxNorm computes it for a leading-axes norm (a dense kernel's
// inputs, a conv kernel's window and input channels) on the trainer's Sum kernel: n = √(Σ_rows w²)
// per column (the column sums above); w ← w · (clip(n, 0, max) / (ε + n)). One pass for the sums
// and one for the scaling instead of tfjs's five kernels and their tensors.
static napi_value MaxNorm(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5) FAIL(env, "maxNorm: expected 5 arguments");
  float* w;
  size_t len;
  int64_t rows, cols;
  double max_value, eps;
  if (!get_f32(env, argv[0], &w, &len)) FAIL(env, "maxNorm: w must be an attached Float32Array");
  if (!get_dim(env, argv[1], &rows) || !get_dim(env, argv[2], &cols) || rows < 1 || cols < 1) FAIL(env, "maxNorm: rows and cols must be integers ≥ 1");
  if ((int64_t)len != rows * cols) FAIL(env, "maxNorm: w must hold rows × cols floats");
  if (napi_get_value_double(env, argv[3], &max_value) != napi_ok || napi_get_value_double(env, argv[4], &eps) != napi_ok) FAIL(env, "maxNorm: maxValue and epsilon must be numbers");
  double* acc = column_scratch((size_t)cols);
  if (!acc || !column_sums(w, acc, (size_t)rows, (size_t)cols, true) || !scale_columns(w, acc, (size_t)rows, (size_t)cols, max_value, eps))
    FAIL(env, "maxNorm: out of memory");
  return NULL;
}

// The momentum step of Momentum() over the rows of parts [begin, end) of a rows×cols kernel,
// adding each updated weight's square to its part's column sum as column_sums_of() adds them (row
// order): the max-norm's sums without reading the kernel again.
CLONES_PER_ISA
static void momentum_column_squares(const void* job, size_t begin, size_t end) {
  const MomentumJob* j = job;
  const size_t cols = j->cols;
  const float c = j->c, m = j->m;
  const bool nesterov = j->nesterov;
  for (size_t p = begin; p < end; p++) {
    double* restrict sums = j->parts.sums + p * j->parts.stride;
    for (size_t k = 0; k < cols; k++) sums[k] = 0;
    for (size_t r = part_start(p, j->rows); r < part_start(p + 1, j->rows); r++) {
      float* restrict wr = j->w + r * cols;
      float* restrict ar = j->acc + r * cols;
      const float* restrict gr = j->g ? j->g + r * cols : NULL;
      // One loop per kind of step, so that each vectorises with no branch inside.
      if (j->scaled && !j->g) {
        for (size_t k = 0; k < cols; k++) {
          const float v = momentum_update_summed(wr[k], &ar[k], c, m);
          wr[k] = v;
          sums[k] += v * v;
        }
      } else if (j->scaled) {
        for (size_t k = 0; k < cols; k++) {
          const float v = momentum_update_scaled(wr[k], &ar[k], gr[k], c, m);
          wr[k] = v;
          sums[k] += v * v;
        }
      } else {
        for (size_t k = 0; k < cols; k++) {
          const float v = momentum_update(wr[k], &ar[k], gr[k], c, m, nesterov);
          wr[k] = v;
          sums[k] += v * v;
        }
      }
    }
  }
}

// momentumMaxNorm(value, accumulation, gradient, lr, momentum, nesterov, rows, cols, maxValue,
// epsilon[, scaled]): momentum() and then maxNorm() on a rows×cols kernel, the same numbers, in
// two passes over the kernel instead of three (the column norms summed while the update writes),
// each thread keeping to the same rows in both.
static napi_value MomentumMaxNorm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 10 && argc != 11) FAIL(env, "momentumMaxNorm: expected 10 or 11 arguments");
  MomentumJob job;
  size_t len[3];
  double max_value, eps;
  int64_t rows, cols;
  if (!get_momentum_args(env, "momentumMaxNorm", argv, argc, 10, &job, len)) return NULL;
  if (!get_dim(env, argv[6], &rows) || !get_dim(env, argv[7], &cols) || rows < 1 || cols < 1) FAIL(env, "momentumMaxNorm: rows and cols must be integers ≥ 1");
  if ((int64_t)len[0] != rows * cols || len[1] != len[0] || len[2] != len[0]) FAIL(env, "momentumMaxNorm: value, accumulation and gradient must hold rows × cols floats");
  if (napi_get_value_double(env, argv[8], &max_value) != napi_ok || napi_get_value_double(env, argv[9], &eps) != napi_ok) FAIL(env, "momentumMaxNorm: maxValue and epsilon must be numbers");
  job.rows = (size_t)rows;
  job.cols = (size_t)cols;
  double* sums = column_scratch(job.cols);
  if (!sums || !parts_for(job.cols, &job.parts)) FAIL(env, "momentumMaxNorm: out of memory");
  run_split(momentum_column_squares, &job, SUM_PARTS, len[0]);
  add_parts(&job.parts, sums, job.cols);
  if (!scale_columns(job.w, sums, job.rows, job.cols, max_value, eps)) FAIL(env, "momentumMaxNorm: out of memory");
  return NULL;
}

static bool set_string(napi_env env, napi_value obj, const char* key, const char* value) {
  napi_value v;
  return napi_create_string_utf8(env, value ? value : "", NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

static bool set_int(napi_env env, napi_value obj, const char* key, int value) {
  napi_value v;
  return napi_create_int32(env, value, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

// info() → { config, corename, threads, procs }: what the manifest records about this path.
static napi_value Info(napi_env env, napi_callback_info cbinfo) {
  (void)cbinfo;
  napi_value obj;
  NAPI_OK(env, napi_create_object(env, &obj));
#ifdef DISTILL_ACCELERATE
  // Accelerate picks its threads and units itself: 0 threads means "not ours to say".
  if (!set_string(env, obj, "config", "Accelerate") || !set_string(env, obj, "corename", "") || !set_int(env, obj, "threads", 0) ||
      !set_int(env, obj, "procs", 0))
    FAIL(env, "info: cannot build the result");
#else
  if (!set_string(env, obj, "config", openblas_get_config()) || !set_string(env, obj, "corename", openblas_get_corename()) ||
      !set_int(env, obj, "threads", openblas_get_num_threads()) || !set_int(env, obj, "procs", openblas_get_num_procs()))
    FAIL(env, "info: cannot build the result");
#endif
  return obj;
}

// setThreads(n): OpenBLAS's thread count (default: OPENBLAS_NUM_THREADS, else every core).
// A no-op with Accelerate.
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t t;
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || !get_dim(env, argv[0], &t) || t < 1) FAIL(env, "setThreads: expected an integer ≥ 1");
#ifndef DISTILL_ACCELERATE
  openblas_set_num_threads((int)t);
#endif
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, Info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"momentum", NULL, Momentum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dropoutMask", NULL, DropoutMask, NULL, NULL, NULL, napi_enumerable, NULL},
      {"maxNorm", NULL, MaxNorm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"columnSums", NULL, ColumnSums, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dropout", NULL, Dropout, NULL, NULL, NULL, napi_enumerable, NULL},
      {"biasRelu", NULL, BiasRelu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reluGrad", NULL, ReluGrad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"momentumMaxNorm", NULL, MomentumMaxNorm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gatherImages", NULL, GatherImages, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}
