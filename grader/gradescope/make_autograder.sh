#!/usr/bin/env bash
# make_autograder.sh — packs the Gradescope autograder zip: setup.sh, run_autograder and
# config.env at the top, the instructor's repository (without build folders) under gradwork/.
#   grader/gradescope/make_autograder.sh [--hidden-visibility V] [OUT.zip]
#       (default: gradwork-autograder.zip)
# V is when students see the hidden tests' results: after_due_date (the default: they cannot
# probe the hidden tests by resubmitting), after_published, hidden (never) or visible (at every
# submission). Passing and failing counts in the total score either way.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
visibility=after_due_date
out=""
while (($#)); do
  case $1 in
    --hidden-visibility) visibility=${2:?--hidden-visibility needs a value}; shift 2 ;;
    --hidden-visibility=*) visibility=${1#*=}; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make_autograder.sh: unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done
case $visibility in
  visible|hidden|after_due_date|after_published) ;;
  *) echo "make_autograder.sh: --hidden-visibility must be visible, hidden, after_due_date or after_published" >&2; exit 2 ;;
esac
out=$(realpath -m "${out:-gradwork-autograder.zip}")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$here/setup.sh" "$here/run_autograder" "$stage/"
chmod +x "$stage/setup.sh" "$stage/run_autograder"
printf 'HIDDEN_VISIBILITY=%s\n' "$visibility" > "$stage/config.env"
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
echo "wrote $out ($(du -h "$out" | cut -f1)); hidden tests' visibility: $visibility;" \
     "upload it as the Gradescope autograder (Ubuntu/Debian base image)"
