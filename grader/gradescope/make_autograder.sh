#!/usr/bin/env bash
# make_autograder.sh — packs the Gradescope autograder zip: setup.sh and run_autograder at the
# top, the instructor's repository (without build folders) under gradwork/.
#   grader/gradescope/make_autograder.sh [OUT.zip]     (default: gradwork-autograder.zip)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(realpath -m "${1:-gradwork-autograder.zip}")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$here/setup.sh" "$here/run_autograder" "$stage/"
chmod +x "$stage/setup.sh" "$stage/run_autograder"
mkdir "$stage/gradwork"
# The repository's own files: in a git checkout what git tracks plus what it does not ignore
# (never build folders, training runs or prepared corpora); elsewhere everything but those.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -C "$stage/gradwork" -xf -
else
  tar -C "$root" --exclude='./build*' --exclude='./.git' --exclude='./datasets/*.txt' \
      --exclude='./runs' --exclude='./out' -cf - . | tar -C "$stage/gradwork" -xf -
fi
rm -f "$out"
(cd "$stage" && zip -q -r "$out" .)
echo "wrote $out ($(du -h "$out" | cut -f1)); upload it as the Gradescope autograder (Ubuntu/Debian base image)"
