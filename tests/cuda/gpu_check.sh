#!/usr/bin/env bash
# gpu_check.sh — the first-run check of the CUDA backend on a machine with a GPU, as one
# short script: driver and device, then every CUDA test, failing when any GPU test skipped
# (a driver older than the toolkit makes every test skip "successfully").
#
#   tests/cuda/gpu_check.sh [path/to/gw_test_cuda]    # default: build/release, then build-cudarev
#
# Writes its log to $OUT/gpu_check.log when $OUT is set. With GW_SANITIZE=1 and
# compute-sanitizer on the PATH (or in /usr/local/cuda/bin), also runs the small kernel
# tests under memcheck (out-of-bounds accesses) and racecheck (shared-memory races).
set -u
cd "$(dirname "$0")/../.."
log=${OUT:-/tmp}/gpu_check.log
mkdir -p "$(dirname "$log")"
exec > >(tee "$log") 2>&1

bin=${1:-}
for candidate in build/release/bin/gw_test_cuda build-cudarev/bin/gw_test_cuda; do
  [ -z "$bin" ] && [ -x "$candidate" ] && bin=$candidate
done
if [ -z "$bin" ]; then
  echo "== building gw_test_cuda (no prebuilt binary found)"
  cmake -S . -B build-cudarev -G Ninja -DCMAKE_BUILD_TYPE=Release -DGW_BUILD_BENCHMARKS=OFF >/dev/null &&
    cmake --build build-cudarev -j"$(nproc)" --target gw_test_cuda || exit 2
  bin=build-cudarev/bin/gw_test_cuda
fi

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 | head -3

echo "== $bin"
results=${OUT:-/tmp}/gw_test_cuda.log  # the full output; below, what matters
timeout 420 "$bin" --gtest_print_time=1 >"$results" 2>&1
status=$?
grep -v -E '^\[ RUN|^\[----------\]|^$' "$results" | head -200
# DeviceCudaWithoutAGpuSaysSo skips on purpose when a GPU is present; any other skip means
# the GPU was not usable, which must not pass as success.
unexpected=$(grep '^\[  SKIPPED \]' "$results" | grep -v DeviceCudaWithoutAGpuSaysSo | grep -c . || true)
echo "== gw_test_cuda exit $status; unexpected skip lines: $unexpected"
[ "$unexpected" -gt 0 ] && { echo "FAIL: GPU tests skipped (see the reasons above)"; status=1; }

if [ "${GW_SANITIZE:-0}" = 1 ]; then
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  if [ -x "$sanitizer" ]; then
    small='CudaNn.*:CudaShape.*:CudaQuant.*:CudaEdge.*:CudaGemm.MatMul*'
    for tool in memcheck racecheck; do
      echo "== compute-sanitizer --tool $tool"
      timeout 240 "$sanitizer" --tool "$tool" --error-exitcode 3 "$bin" --gtest_filter="$small" \
        --gtest_brief=1 || status=1
    done
  else
    echo "== compute-sanitizer not found: sanitizer runs skipped"
  fi
fi
exit $status
