#!/usr/bin/env bash
# setup.sh — Gradescope image build for the gradwork autograder (runs once, as root).
#
# Expects the autograder zip made by grader/gradescope/make_autograder.sh:
#   /autograder/source/setup.sh, run_autograder, gradwork/ (the instructor's repository).
# Installs the toolchain, builds gw-grade, and prebuilds the reference framework (library,
# reference lab objects, compiled public and hidden tests) into /autograder/gw-cache, so
# that grading a submission only compiles the student's lab files and links. Then it locks
# the secrets (hidden tests, reference solutions, history, build folders) away from the
# sandbox user the student's code runs as: Gradescope's container may not allow the mount
# namespace the grader would otherwise use to mask them.
set -euo pipefail
SRC=/autograder/source/gradwork
CACHE=/autograder/gw-cache
BUILD=/autograder/gw-build

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq build-essential cmake ninja-build libgtest-dev libopenblas-dev \
  nlohmann-json3-dev libcli11-dev liblbfgs-dev zip unzip >/dev/null

cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGW_CUDA=OFF \
  -DGW_BUILD_BENCHMARKS=OFF >/dev/null
ninja -C "$BUILD" gw-grade
install -m 0755 "$BUILD/bin/gw-grade" /usr/local/bin/gw-grade
GW_GRADER_CACHE=$CACHE gw-grade --root "$SRC" --cuda off prepare
# Grade the untouched stubs once: the reference's runs for the release seed (what every
# submission is compared with) and the stubs' objects land in the cache, so that grading a
# submission pays only for the files it changed. A failure here only costs that time later.
mkdir -p /tmp/gw-stubs
GW_GRADER_CACHE=$CACHE gw-grade --root "$SRC" --cuda off grade /tmp/gw-stubs -q >/dev/null || true
rm -rf /tmp/gw-stubs

# The student's code (uids 61000+) must not read any of this.
chmod 0700 "$CACHE" "$BUILD"
chmod -R go-rwx "$SRC/grader" "$SRC/.git" 2>/dev/null || true
# The lab files of the manifest are the reference solutions.
grep -o '"reference/[^"]*"' "$SRC/labs/labs.json" | tr -d '"' | while read -r f; do
  chmod 0600 "$SRC/$f"
done
echo "gradwork autograder ready"
