#!/usr/bin/env bash
# gpu_evidence.sh — the GPU evidence run: on a machine with an
# NVIDIA GPU, builds the release preset, runs the GPU-labelled tests, the GPU benchmarks, the
# PyTorch peer (when torch is importable), the flash attention tests and benchmark (lab 08's
# bf16 tensor-core kernels) gathered in one section, and gw-train --preset gpu-char on tinyshakespeare,
# then writes one report (device, driver, CUDA, commit, test results, figures) to stdout and
# to a file under results/ — commit that file.
#
# Usage: scripts/gpu_evidence.sh [options] [TINYSHAKESPEARE.txt] [-- extra gw-train flags]
#   --out FILE        report path (default results/gpu/<UTC time>-<commit>.md)
#   --skip-build      use the existing build (with --build DIR: that folder)
#   --build DIR       build folder (default build/release, the release preset's)
#   --skip-tests      do not run ctest -L gpu
#   --skip-bench      do not run bench_gpu_kernels and bench_gpu_train_step
#   --skip-peer       do not run the PyTorch peer
#   --max-iters N     gw-train iterations (default: the preset's 5000)
#   --train-timeout S stop gw-train after S seconds (default 3600); the report says so
#   --steps N         timed steps of each benchmark step (default 20)
# Without the dataset argument the training run is skipped (../shared is not on GPU machines:
# copy tinyshakespeare.txt into a git-ignored folder such as datasets/ and name it here).
set -uo pipefail

cd "$(dirname "$0")/.."
build=build/release out="" skip_build=0 skip_peer=0 skip_tests=0 skip_bench=0 max_iters="" steps=20 data="" train_timeout=3600
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --build) build="$2"; shift 2 ;;
    --skip-peer) skip_peer=1; shift ;;
    --skip-tests) skip_tests=1; shift ;;
    --skip-bench) skip_bench=1; shift ;;
    --max-iters) max_iters="$2"; shift 2 ;;
    --train-timeout) train_timeout="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "gpu_evidence.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) data="$1"; shift ;;
  esac
done

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | grep -qv '^??' && echo " (uncommitted changes)" || true)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
[[ -z "$out" ]] && out="results/gpu/${stamp}-${commit}.md"
mkdir -p "$(dirname "$out")" results/tmp
work=results/tmp/gpu_evidence_${stamp}
mkdir -p "$work"
bin=$build/bin

report() { printf '%s\n' "$*" | tee -a "$out"; }
section() { report ""; report "## $*"; report ""; }
# Runs a command, keeps its whole log in $work, puts its tail in the report as a code block.
run_logged() {
  local name="$1" lines="$2"; shift 2
  local log="$work/$name.log" start end rc
  start=$(date +%s)
  "$@" >"$log" 2>&1
  rc=$?
  end=$(date +%s)
  report "\`$*\` → exit $rc in $((end - start)) s"
  report '```'
  tail -n "$lines" "$log" | tee -a "$out"
  report '```'
  return $rc
}

: >"$out"
report "# GPU evidence: $stamp"
report ""
report "- commit: $commit$dirty"
if command -v nvidia-smi >/dev/null 2>&1; then
  report "- device: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1)"
  report "- driver: $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
else
  report "- device: nvidia-smi not found"
fi
report "- nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*, V[0-9.]*' || echo 'not found')"
report "- host: $(uname -srm), $(nproc) CPUs"
report "- torch: $(python3 -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)' 2>/dev/null || echo 'not importable')"

section "Build"
if [[ $skip_build -eq 0 ]]; then
  run_logged configure 5 cmake --preset release -DGW_BUILD_BENCHMARKS=ON || { report "configure failed"; exit 1; }
  run_logged build 5 cmake --build --preset release -j "$(nproc)" --target gradwork gw_test_cuda \
    bench_gpu_kernels bench_gpu_train_step gw-train || { report "build failed"; exit 1; }
else
  report "skipped (--skip-build): using $build"
fi
grep -q 'GW_HAVE_CUDA:INTERNAL=ON\|building the CUDA backend' "$work/configure.log" 2>/dev/null &&
  report "CUDA backend: $(grep -o 'CUDA [0-9.]* found.*' "$work/configure.log" | head -1)"

section "GPU tests (ctest -L gpu)"
if [[ $skip_tests -eq 1 ]]; then
  report "skipped (--skip-tests)"
else
  run_logged ctest_gpu 40 ctest --test-dir "$build" -L gpu --output-on-failure
  report ""
  report "Per test (from the GoogleTest program):"
  report '```'
  "$bin/gw_test_cuda" 2>&1 | grep -E '^\[ +(OK|FAILED|SKIPPED) +\] .* \([0-9]+ ms\)$' | tee -a "$out" >/dev/null
  report '```'
fi

section "Kernel benchmarks (bench_gpu_kernels)"
if [[ $skip_bench -eq 1 ]]; then
  report "skipped (--skip-bench)"
else
  run_logged bench_gpu_kernels 45 "$bin/bench_gpu_kernels"
fi

section "Flash attention (lab 08): bf16 tensor cores against f32 flash and naive cuBLAS"
# The CudaFlash tests ran above with the gpu label (gw_test_cuda); their lines and the flash
# summary of bench_gpu_kernels, together.
if [[ $skip_tests -eq 0 ]]; then
  report '```'
  "$bin/gw_test_cuda" --gtest_filter='CudaFlash.*' 2>&1 |
    grep -E '^\[ +(OK|FAILED|SKIPPED) +\] |Failure|error' | tee -a "$out" >/dev/null
  report '```'
fi
if [[ $skip_bench -eq 0 && -f "$work/bench_gpu_kernels.log" ]]; then
  report '```'
  sed -n '/^flash attention, T = /,$p' "$work/bench_gpu_kernels.log" | tee -a "$out" >/dev/null
  report '```'
fi

section "Training step (bench_gpu_train_step)"
if [[ $skip_bench -eq 1 ]]; then
  report "skipped (--skip-bench)"
else
  run_logged bench_gpu_train_step 10 "$bin/bench_gpu_train_step" --steps "$steps" --json "$work/train_step.json"
fi

section "PyTorch peer (benchmarks/peer/torch_gpu_train_step.py)"
if [[ $skip_peer -eq 1 ]]; then
  report "skipped (--skip-peer)"
elif python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  run_logged torch_peer 12 python3 benchmarks/peer/torch_gpu_train_step.py \
    --bench "$bin/bench_gpu_train_step" --steps "$steps"
else
  report "skipped: torch with CUDA is not importable here"
fi

section "Training run: gw-train --preset gpu-char on tinyshakespeare"
if [[ -z "$data" ]]; then
  report "skipped: no dataset path given (scripts/gpu_evidence.sh PATH/tinyshakespeare.txt)"
elif [[ ! -f "$data" ]]; then
  report "skipped: $data not found"
else
  args=(--preset gpu-char --device cuda --data "$data" --out-dir "$work/gpu-char" --plot false)
  [[ -n "$max_iters" ]] && args+=(--max-iters "$max_iters")
  args+=("${extra[@]}")
  run_logged train 25 timeout "$train_timeout" "$bin/gw-train" "${args[@]}"
  [[ $? -eq 124 ]] && report "gw-train stopped by --train-timeout $train_timeout s"
  if [[ -f "$work/gpu-char/summary.json" ]]; then
    report ""
    report "summary.json:"
    report '```'
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); s.pop("config",None); print(json.dumps(s, indent=1))' \
      "$work/gpu-char/summary.json" | tee -a "$out"
    report '```'
    best=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["best_val_loss"])' "$work/gpu-char/summary.json")
    report "target val loss ≤ 1.47 (nanoGPT 1.4697): best val $best"
  fi
fi

section "Mixed precision (lab 06): gw-train --preset cpu-tiny --device cuda, fp32 against bf16"
if [[ -n "$data" && -f "$data" ]]; then
  for p in fp32 bf16; do
    run_logged "train-$p" 10 timeout "$train_timeout" "$bin/gw-train" --preset cpu-tiny \
      --device cuda --precision "$p" --data "$data" --out-dir "$work/tiny-$p" --plot false
    [[ -f "$work/tiny-$p/summary.json" ]] && report "$p: $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print("best val", s["best_val_loss"], "| wall", s.get("wall_seconds"))' "$work/tiny-$p/summary.json")"
  done
else
  report "skipped: no dataset"
fi

report ""
report "Full logs: $work (not committed)."
echo "report written to $out" >&2
