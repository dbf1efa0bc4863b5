#!/usr/bin/env bash
# Issue #11's GPU measurements in one run, from the kit `npm run device:kit` packs (this file is
# its run.sh): the webgpu benchmark (docs/bench-train-webgpu.md: every stage's step against the
# GPU's own matmul roofline, and the whole Hinton experiment against the 20 s target), where a
# teacher step's time goes on the GPU, the Fashion-MNIST CNN's teacher epochs on webgpu against
# wasm on the same machine (the ≥ 10× target), and the quick example's three seeds. At most 9.5
# minutes (the limits below add up to 560 s, under the device tool's 600 s a command); 4.6 minutes
# on an H200.
#   bash scripts/device-check.sh --unpack out/device-kit.tar.xz   on the device: unpacks the kit
#                                         into /tmp and runs its run.sh (results under $OUT)
#   bash out/device-kit/run.sh            the unpacked kit; results under $OUT, else ./results
#   bash out/device-kit/run.sh --quick    each step cut short: checks the kit works (software adapter)
set -u
if [ "${1:-}" = "--unpack" ]; then
  archive=$2
  shift 2
  mkdir -p /tmp/distill-kit
  # xz where the machine has it, else Python's lzma.
  { xz -dc "$archive" 2>/dev/null || python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$archive"; } |
    tar -xf - -C /tmp/distill-kit || { echo "cannot unpack $archive" >&2; exit 3; }
  exec bash /tmp/distill-kit/device-kit/run.sh "$@"
fi
KIT=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$KIT/results}
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
mkdir -p "$OUT"
cd "$KIT"
export DISTILL_CACHE_DIR="$KIT/dist/data"
# The device machine has no Node: the kit's own, where the system has none.
command -v node > /dev/null || export PATH="$KIT/bin:$PATH"
# Dawn needs the Vulkan loader, and NVIDIA's driver the glvnd libraries: where the system has no
# loader, the kit's Debian packages, unpacked inside the kit and put on the library path.
if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' && [ -d "$KIT/debs" ]; then
  for deb in "$KIT"/debs/*.deb; do dpkg-deb -x "$deb" "$KIT/sysroot"; done
  export LD_LIBRARY_PATH="$KIT/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# In a container NVIDIA's Vulkan driver is often only where the loader does not look.
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; break; fi
  done
fi

SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
# step NAME LIMIT_S QUICK_LIMIT_S COMMAND…: runs it under a time limit, its output in NAME.log.
step() {
  local name=$1 limit=$2 quick=$3
  shift 3
  [ "$QUICK" = 1 ] && limit=$quick
  say "== $name (limit ${limit} s): $*"
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  say "   exit $? after $((SECONDS - t0)) s"
}

say "kit $KIT; $(date -u +%FT%TZ); node $(node --version); $(nproc) cores"
say "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-unset}"

# 1. The benchmark: trainStage on the GPU per stage, then the whole Hinton experiment (runExperiment).
if [ "$QUICK" = 1 ]; then bench_args=(--epochs 2 --no-full); else bench_args=(--epochs 3); fi
step bench-train 255 120 node dist/bench-train.js --backend webgpu "${bench_args[@]}"
[ -f docs/bench-train-webgpu.md ] && cp docs/bench-train-webgpu.md "$OUT/" && grep -E '^\||Roofline|GPU roofline|Whole' docs/bench-train-webgpu.md >> "$SUMMARY"
# 2. Where a teacher step goes: each kernel's cost to the JS thread, and the median step.
step profile-teacher 60 60 node dist/bench-profile.js teacher --backend webgpu
head -n 14 "$OUT/profile-teacher.log" >> "$SUMMARY"; grep -h 'median step' "$OUT/profile-teacher.log" >> "$SUMMARY"
# 3. The CNN example's teacher epochs, webgpu then wasm (no OpenBLAS in the kit: the XNNPACK kernels on every core).
step cnn-webgpu 60 40 node dist/cli.js run examples/fashion-cnn-hints.distill.json --backend webgpu --runs-dir "$OUT/runs"
step cnn-wasm 140 40 node dist/cli.js run examples/fashion-cnn-hints.distill.json --backend wasm --runs-dir "$OUT/runs"
for b in webgpu wasm; do
  say "-- cnn $b: $(grep -m1 -iE 'backend' "$OUT/cnn-$b.log")"
  grep -E '^teacher +epoch' "$OUT/cnn-$b.log" | head -n 4 >> "$SUMMARY"
done
# 4. The quick example, three seeds, the whole CLI run.
step quick-webgpu 45 45 node dist/cli.js run examples/quick-mnist.distill.json --backend webgpu --runs-dir "$OUT/runs"
grep -A4 -E '^model ' "$OUT/quick-webgpu.log" >> "$SUMMARY"
rm -rf "$OUT/runs"
say "done; logs in $OUT"
