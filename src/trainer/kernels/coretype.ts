// Which OpenBLAS kernels to force, from the CPU's own feature flags (docs/architecture.md §5.1).
//
// Why: a DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU model it recognises. Debian 12's
// 0.3.21 does not know recent Xeons and EPYCs: on one machine type it reported Prescott (SSE3
// kernels) and Cooperlake on others, and it ran 1.5–2.3× slower than with the right kernels.
// The instruction set is what the kernels need, so the flags decide: AVX-512 (F, BW, VL, DQ, CD —
// what OpenBLAS's SkylakeX kernels use) → SkylakeX; AVX2 with FMA → Haswell. OpenBLAS reads
// OPENBLAS_CORETYPE once, when the library loads, so this must run before the addon is required.
//
// A core type the user set is kept; DISTILL_CORETYPE=off leaves OpenBLAS to its own detection.

const SKYLAKEX_FLAGS = ['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'];
const HASWELL_FLAGS = ['avx2', 'fma'];

/** The OpenBLAS core type for the first CPU listed in /proc/cpuinfo's text, or undefined. */
export function coretypeFromCpuinfo(cpuinfo: string): 'SkylakeX' | 'Haswell' | undefined {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1];
  if (!line) return undefined;
  const flags = new Set(line.trim().split(/\s+/));
  if (SKYLAKEX_FLAGS.every((f) => flags.has(f))) return 'SkylakeX';
  if (HASWELL_FLAGS.every((f) => flags.has(f))) return 'Haswell';
  return undefined;
}

export interface CoretypeChoice {
  /** The value OPENBLAS_CORETYPE has for the library load (undefined: OpenBLAS detects). */
  coretype?: string;
  /** Who chose it: the user's environment, the CPU flags, or nobody. */
  source: 'user' | 'cpu flags' | 'openblas';
}

/**
 * Sets OPENBLAS_CORETYPE in `env` from `readCpuinfo()` unless the user set it or turned this off.
 * Linux only in practice: elsewhere there is no /proc/cpuinfo (macOS uses Accelerate) and
 * OpenBLAS keeps its own choice.
 */
export function chooseCoretype(env: NodeJS.ProcessEnv, readCpuinfo: () => string | undefined): CoretypeChoice {
  if (env.OPENBLAS_CORETYPE) return { coretype: env.OPENBLAS_CORETYPE, source: 'user' };
  if (env.DISTILL_CORETYPE === 'off') return { source: 'openblas' };
  let text: string | undefined;
  try {
    text = readCpuinfo();
  } catch {
    text = undefined;
  }
  const coretype = text ? coretypeFromCpuinfo(text) : undefined;
  if (!coretype) return { source: 'openblas' };
  env.OPENBLAS_CORETYPE = coretype;
  return { coretype, source: 'cpu flags' };
}
