// OpenBLAS's core type chosen from /proc/cpuinfo's flags (src/trainer/kernels/coretype.ts): the
// flags decide, the user's OPENBLAS_CORETYPE wins, DISTILL_CORETYPE=off leaves OpenBLAS alone,
// and a loaded addon reports the kernels it runs and who chose them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { chooseCoretype, coretypeFromCpuinfo } from '../../src/trainer/kernels/coretype';

const cpuinfo = (flags: string) => `processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8481C\nflags\t\t: ${flags}\nbogomips\t: 4000\n\nprocessor\t: 1\nflags\t\t: fpu\n`;
const AVX512 = 'fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 amx_tile';
const AVX2 = 'fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma bmi2';

describe('OpenBLAS core type from the CPU flags', () => {
  test('AVX-512 (F, BW, VL, DQ, CD) → SkylakeX; AVX2 + FMA → Haswell; less → OpenBLAS decides', () => {
    assert.equal(coretypeFromCpuinfo(cpuinfo(AVX512)), 'SkylakeX');
    assert.equal(coretypeFromCpuinfo(cpuinfo(AVX2)), 'Haswell');
    // AVX-512F alone (Knights Landing has no BW/VL): the SkylakeX kernels need all five.
    assert.equal(coretypeFromCpuinfo(cpuinfo('avx avx2 fma avx512f avx512cd')), 'Haswell');
    assert.equal(coretypeFromCpuinfo(cpuinfo('fpu sse sse2 avx')), undefined);
    assert.equal(coretypeFromCpuinfo('processor : 0\n'), undefined);
    // Only the first CPU's flags are read (a second CPU listed with fewer flags does not count).
    assert.equal(coretypeFromCpuinfo(cpuinfo(AVX512) + 'processor\t: 2\nflags\t\t: fpu sse\n'), 'SkylakeX');
  });

  test('sets OPENBLAS_CORETYPE unless the user did or turned it off; survives an unreadable cpuinfo', () => {
    const env: NodeJS.ProcessEnv = {};
    assert.deepEqual(chooseCoretype(env, () => cpuinfo(AVX512)), { coretype: 'SkylakeX', source: 'cpu flags' });
    assert.equal(env.OPENBLAS_CORETYPE, 'SkylakeX');

    const user: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Zen' };
    assert.deepEqual(chooseCoretype(user, () => cpuinfo(AVX512)), { coretype: 'Zen', source: 'user' });
    assert.equal(user.OPENBLAS_CORETYPE, 'Zen');

    const off: NodeJS.ProcessEnv = { DISTILL_CORETYPE: 'off' };
    assert.deepEqual(chooseCoretype(off, () => cpuinfo(AVX512)), { source: 'openblas' });
    assert.equal(off.OPENBLAS_CORETYPE, undefined);

    const none: NodeJS.ProcessEnv = {};
    assert.deepEqual(chooseCoretype(none, () => { throw new Error('EACCES'); }), { source: 'openblas' });
    assert.deepEqual(chooseCoretype(none, () => undefined), { source: 'openblas' });
    assert.equal(none.OPENBLAS_CORETYPE, undefined);
  });

  test('the loaded library runs the kernels chosen, and backendDetails says so', (t) => {
    // A separate process per environment: OpenBLAS reads the variable once, when it loads.
    const script = `
      const { nativeBlas, blasDescription } = require('./src/trainer/kernels/blas');
      const load = nativeBlas();
      console.log(JSON.stringify(load.blas ? { corename: load.blas.info().corename, text: blasDescription(load.blas), coretype: load.coretype } : { detail: load.detail }));`;
    const root = path.resolve(__dirname, '..', '..');
    const run = (env: NodeJS.ProcessEnv) =>
      JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, env: { ...process.env, OPENBLAS_CORETYPE: '', ...env }, encoding: 'utf8' }).trim().split('\n').pop()!);
    const forced = run({ OPENBLAS_CORETYPE: 'Haswell' });
    if (forced.detail) return t.skip(`native BLAS addon unavailable: ${forced.detail}`);
    assert.equal(forced.corename, 'Haswell');
    assert.match(forced.text, /Haswell kernels from OPENBLAS_CORETYPE\)$/);
    const auto = run({});
    const expected = coretypeFromCpuinfo(require('node:fs').readFileSync('/proc/cpuinfo', 'utf8'));
    if (expected) {
      assert.equal(auto.corename, expected);
      assert.match(auto.text, new RegExp(`${expected} kernels from the CPU flags\\)$`));
    } else assert.match(auto.text, /as OpenBLAS detected\)$/);
  });
});
