#!/usr/bin/env bash
# cpu_benchmarks.sh — the CPU figures the README and the issue notes cite, in one report:
# machine, commit, the GEMM / elementwise / training-step benchmarks (each with its
# same-process baseline), the PyTorch peer when torch is importable, and a cpu-tiny run on
# tinyshakespeare. Writes the report to stdout and to results/cpu/<UTC time>-<commit>.md;
# commit that file.
#
# Usage: scripts/cpu_benchmarks.sh [--build DIR] [--no-train] [--no-peer] [TINYSHAKESPEARE.txt]
#   default data: ../shared/datasets/tinyshakespeare.txt; the build must exist (./gradwork build)
set -uo pipefail
cd "$(dirname "$0")/.."
build=build/release train=1 peer=1 data=../shared/datasets/tinyshakespeare.txt
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --no-train) train=0; shift ;;
    --no-peer) peer=0; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "cpu_benchmarks.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) data="$1"; shift ;;
  esac
done
bin=$build/bin
for p in bench_gemm bench_elementwise bench_train_step gw-train; do
  [[ -x $bin/$p ]] || { echo "cpu_benchmarks.sh: $bin/$p missing; run ./gradwork build first" >&2; exit 1; }
done
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || commit="$commit+dirty"
mkdir -p results/cpu
report=results/cpu/$(date -u +%Y%m%dT%H%MZ)-$commit.md

section() {  # section TITLE COMMAND...: runs the command, records it and its output
  local title=$1; shift
  printf '\n## %s\n\n```\n$ %s\n' "$title" "$*"
  # Rows of single repetitions are left out: each program prints medians and ratios after.
  "$@" 2>&1 | grep -v -i -e "warning" -e "_conversion_method_template" -e "/repeats:[0-9]*/"
  printf '```\n'
}

{
  printf '# CPU benchmarks, commit %s\n\n' "$commit"
  printf -- '- date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf -- '- cpu: %s, %s cores\n' "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)"
  printf -- '- compiler: %s\n' "$(c++ --version | head -1)"
  printf -- '- BLAS: %s\n' "$(ldd "$bin/bench_gemm" | grep -o '/[^ ]*openblas[^ ]*' | head -1)"
  section "GEMM op against cblas_sgemm" "$bin/bench_gemm"
  section "Elementwise and reduction GB/s against memcpy" "$bin/bench_elementwise"
  section "Training step against OpenBLAS sgemm" "$bin/bench_train_step"
  if ((peer)) && python3 -c "import torch" 2>/dev/null; then
    for t in 1 $(nproc); do
      section "PyTorch peer, cpu-tiny, $t thread(s)" python3 benchmarks/peer/torch_train_step.py \
        --bench "$bin/bench_train_step" --shape cpu-tiny --threads "$t" --steps 30
    done
    section "PyTorch peer, gpt2-small, $(nproc) thread(s)" python3 benchmarks/peer/torch_train_step.py \
      --bench "$bin/bench_train_step" --shape gpt2-small --threads "$(nproc)" --steps 3
  elif ((peer)); then
    printf '\n## PyTorch peer\n\nnot run: torch is not importable (pip install torch)\n'
  fi
  if ((train)) && [[ -r $data ]]; then
    section "cpu-tiny on $(basename "$data")" "$bin/gw-train" --preset cpu-tiny --data "$data" \
      --out-dir runs/cpu-benchmarks --eval-interval 100 --log-interval 1000000
  elif ((train)); then
    printf '\n## Training run\n\nnot run: %s is not readable\n' "$data"
  fi
} | tee "$report"
echo "cpu_benchmarks.sh: wrote $report"
