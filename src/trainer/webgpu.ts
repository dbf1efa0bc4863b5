// The `webgpu` backend: @tensorflow/tfjs-backend-webgpu on Dawn's Node bindings (the `webgpu`
// npm package), so a GPU of any vendor trains through Vulkan, Metal or Direct3D 12 — no CUDA,
// nothing downloaded at install (docs/architecture.md §5.2).
//
// Why not simply `import 'webgpu'` and let tfjs-backend-webgpu register itself: its factory asks
// `navigator.gpu` for the default adapter, which Node 20 does not have, and it cannot ask for a
// software adapter in compatibility mode (Mesa's OpenGL ES, what CI and CPU-only machines have).
// So we load dawn.node ourselves, pick the adapter, and register the backend with that device.
//
// Packaging: dawn.node is a 20 MB native library per platform. esbuild.mjs copies the one of the
// build machine to dist/webgpu/<platform>-<arch>/ (the .vsix ships it, like the OpenBLAS addon);
// from TypeScript sources, or for another platform, it is loaded from node_modules/webgpu.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

const dynamicRequire: NodeRequire = typeof require === 'function' ? require : createRequire(__filename);

/** The adapter a run trains on, as the manifest and the CLI name it. */
export interface GpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Dawn's backend: 'default' (Vulkan / Metal / D3D12) or 'opengles' (the compatibility path). */
  api: 'default' | 'opengles';
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader, WARP): correct, but slower than wasm. */
  software: boolean;
}

interface Dawn {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Dawn's folder name for this platform (the package ships one universal macOS build). */
export function dawnPlatform(): string {
  return process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;
}

/** dawn.node next to the running bundle when esbuild copied it there, else in node_modules/webgpu. */
export function dawnPath(): string {
  const shipped = path.join(__dirname, 'webgpu', dawnPlatform(), 'dawn.node');
  if (fs.existsSync(shipped)) return shipped;
  let pkg: string;
  try {
    pkg = path.dirname(dynamicRequire.resolve('webgpu/package.json'));
  } catch {
    throw new Error(`dawn.node for ${dawnPlatform()} is neither in ${path.dirname(shipped)} nor in an installed \`webgpu\` package`);
  }
  const file = path.join(pkg, 'dist', dawnPlatform(), 'dawn.node');
  if (!fs.existsSync(file)) throw new Error(`the \`webgpu\` package has no dawn.node for ${dawnPlatform()}`);
  return file;
}

let dawn: Dawn | undefined;

function loadDawn(): Dawn {
  if (dawn) return dawn;
  const loaded = dynamicRequire(dawnPath()) as Dawn;
  // tfjs-backend-webgpu uses the WebGPU constants (GPUBufferUsage, GPUMapMode, …) as globals.
  for (const [k, v] of Object.entries(loaded.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  dawn = loaded;
  return loaded;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i;

/**
 * Linux's Vulkan loader. Without it Dawn finds no GPU but prints a two-line warning with a stack
 * on stderr; looking first gives one clear reason instead (and keeps CPU-only runs quiet).
 */
function vulkanLoaderMissing(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
    '/usr/lib64',
    '/usr/lib',
    '/lib64',
    '/lib',
    '/usr/local/lib',
  ];
  if (dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')))) return undefined;
  return 'no Vulkan loader (libvulkan.so.1: install libvulkan1 and the GPU driver)';
}

/**
 * Dawn's instances, kept for the life of the process: a device does not keep its instance alive,
 * and a collected instance takes the device down with it (a segfault at the next submit).
 */
const instances: GPU[] = [];

async function requestAdapter(api: GpuAdapter['api']): Promise<GPUAdapter | null> {
  const { create } = loadDawn();
  if (api === 'opengles') {
    // Mesa's EGL needs no display in this mode (read when EGL starts, so set before create()).
    process.env.EGL_PLATFORM ??= 'surfaceless';
    const gpu = create(['backend=opengles']);
    instances.push(gpu);
    return gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
  }
  const gpu = create([]);
  instances.push(gpu);
  return gpu.requestAdapter({ powerPreference: 'high-performance' });
}

/** `adapter.info` (newer than the @webgpu/types tfjs-core brings). */
function infoOf(adapter: GPUAdapter): GPUAdapterInfo & { isFallbackAdapter?: boolean } {
  return (adapter as unknown as { info: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
}

function describe(adapter: GPUAdapter, api: GpuAdapter['api']): GpuAdapter {
  const info = infoOf(adapter);
  const d: GpuAdapter = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    api,
    software: false,
  };
  d.software = info.isFallbackAdapter === true || SOFTWARE.test(`${d.device} ${d.description}`);
  return d;
}

/** The device, then vendor and architecture, the driver's description, and how it is reached. */
export function adapterLabel(a: GpuAdapter): string {
  const name = a.device || a.description || 'unnamed adapter';
  const tags = [
    [a.vendor, a.architecture].filter(Boolean).join(' '),
    a.description && a.description !== name ? `driver: ${a.description}` : '',
    a.api === 'opengles' ? 'OpenGL ES, compatibility mode' : '',
    a.software ? 'software' : '',
  ].filter(Boolean);
  return tags.length ? `${name} (${tags.join('; ')})` : name;
}

let active: { adapter: GpuAdapter; backend: WebGPUBackend } | undefined;

/** The adapter the webgpu backend runs on, once started. */
export function activeAdapter(): GpuAdapter | undefined {
  return active?.adapter;
}

/**
 * Finds an adapter, registers tfjs's `webgpu` backend on it and makes it current. `hardwareOnly`
 * (the `auto` choice) refuses software adapters, which are slower than wasm; otherwise a machine
 * without a GPU gets Mesa's OpenGL ES adapter (llvmpipe) when its EGL libraries are installed.
 * Throws one line saying why no adapter is usable.
 */
export async function startWebgpu(hardwareOnly: boolean): Promise<GpuAdapter> {
  if (active) {
    if (hardwareOnly && active.adapter.software) throw new Error(`only a software adapter: ${adapterLabel(active.adapter)}`);
    if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not start again');
    return active.adapter;
  }
  const reasons: string[] = [];
  const noVulkan = vulkanLoaderMissing();
  const apis: GpuAdapter['api'][] = hardwareOnly ? ['default'] : ['default', 'opengles'];
  let found: { adapter: GPUAdapter; described: GpuAdapter } | undefined;
  for (const api of apis) {
    if (api === 'default' && noVulkan) {
      reasons.push(noVulkan);
      continue;
    }
    const adapter = await requestAdapter(api);
    if (!adapter) {
      reasons.push(api === 'default' ? 'no GPU adapter' : 'no OpenGL ES adapter (Linux: libegl1 libgles2 libegl-mesa0)');
      continue;
    }
    const described = describe(adapter, api);
    if (hardwareOnly && described.software) {
      reasons.push(`only a software adapter: ${adapterLabel(described)}`);
      continue;
    }
    found = { adapter, described };
    break;
  }
  if (!found) throw new Error(reasons.join('; '));

  const { adapter, described } = found;
  const limits = adapter.limits;
  // The limits tfjs-backend-webgpu's own factory asks for: the adapter's, not WebGPU's defaults.
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  // The backend's constructor checks `navigator.gpu` exists (Node 20 has no navigator; Node 21+
  // has one without `gpu`).
  const nav = (globalThis as unknown as { navigator?: object }).navigator;
  if (!nav) Object.defineProperty(globalThis, 'navigator', { value: { gpu: true }, configurable: true, writable: true });
  else if (!('gpu' in nav)) Object.defineProperty(nav, 'gpu', { value: true, configurable: true });
  const backend = new WebGPUBackend(device, infoOf(adapter));
  // Priority 0: never picked implicitly, only by setBackend('webgpu').
  tf.registerBackend('webgpu', () => backend, 0);
  if (!(await tf.setBackend('webgpu'))) throw new Error(`the webgpu backend did not start on ${adapterLabel(described)}`);
  active = { adapter: described, backend };
  return described;
}

/**
 * Gives the GPU memory of disposed tensors back to the driver. tfjs-backend-webgpu keeps every
 * freed buffer in a pool keyed by size for reuse; between stages and runs the sizes change, so
 * the pool only grows. Called between stages; a no-op on other backends.
 */
export function releaseGpuMemory(): void {
  if (!active || tf.getBackend() !== 'webgpu') return;
  const manager = (active.backend as unknown as { bufferManager: PoolInternals }).bufferManager;
  // Keep the keys: releaseBuffer() treats an empty map as "disposed" and stops tracking.
  for (const buffers of manager.freeBuffers.values()) {
    for (const b of buffers.splice(0)) {
      manager.numBytesAllocated -= b.size;
      manager.numFreeBuffers--;
      b.destroy();
    }
  }
}

interface PoolInternals {
  freeBuffers: Map<string, GPUBuffer[]>;
  numBytesAllocated: number;
  numFreeBuffers: number;
}

/** GPU memory of the webgpu backend: in live tensors, and held (live + pooled). */
export function gpuMemory(): { used: number; allocated: number } | undefined {
  if (!active || tf.getBackend() !== 'webgpu') return undefined;
  const m = active.backend.memory() as { numBytesInGPU: number; numBytesAllocatedInGPU: number };
  return { used: m.numBytesInGPU, allocated: m.numBytesAllocatedInGPU };
}
