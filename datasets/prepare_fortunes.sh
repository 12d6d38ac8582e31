#!/usr/bin/env bash
# prepare_fortunes.sh — turns Debian's `fortunes` package into datasets/fortunes.txt, the
# project's default training corpus (the project ships no third-party text; see
# datasets/README.md).
#
# Usage: datasets/prepare_fortunes.sh [OUTPUT]        (default: datasets/fortunes.txt)
# Env:   FORTUNES_DIR   where the fortune files are   (default: /usr/share/games/fortunes)
#
# What it does, in file-name order: takes every file without an extension except ascii-art
# (skips .dat/.u8 index files and any offensive off/ folder); removes backspace overstrikes
# keeping the visible character (X\bX and _\bX give X); turns tabs into spaces and drops the
# other control characters; turns each "%" separator line into a blank line. Idempotent:
# the output is written to a temporary file, then renamed; running it twice gives the same
# bytes. Prints the byte count.
set -euo pipefail

src="${FORTUNES_DIR:-/usr/share/games/fortunes}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/fortunes.txt}"

if [[ ! -d "$src" ]]; then
  echo "prepare_fortunes.sh: error: $src not found; install the corpus with:" >&2
  echo "    sudo apt-get install fortunes fortunes-min" >&2
  exit 1
fi
command -v perl >/dev/null || { echo "prepare_fortunes.sh: error: needs perl" >&2; exit 1; }

# Regular files directly in $src, no extension, not ascii-art; sorted bytewise so the
# corpus is the same on every machine.
mapfile -t files < <(find "$src" -maxdepth 1 -type f ! -name '*.*' ! -name 'ascii-art' \
                       -printf '%f\n' | LC_ALL=C sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "prepare_fortunes.sh: error: no fortune files in $src; reinstall with:" >&2
  echo "    sudo apt-get install --reinstall fortunes fortunes-min" >&2
  exit 1
fi

mkdir -p "$(dirname "$out")"
tmp="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
for f in "${files[@]}"; do
  cat "$src/$f"
  # A file that does not end in a newline must not glue its last line to the next file.
  [[ -z "$(tail -c1 "$src/$f")" ]] || echo
done | perl -CSD -pe '
  1 while s/[^\x08\n]\x08//g;            # overstrike: drop each character erased by \b
  s/\t/ /g;                               # tabs -> spaces
  s/[\x00-\x09\x0b-\x1f\x7f\x{80}-\x{9f}]//g;   # other control characters (C0, DEL, C1)
  $_ = "\n" if $_ eq "%\n";               # entry separators -> blank lines
' > "$tmp"
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "prepare_fortunes.sh: wrote $(wc -c < "$out") bytes from ${#files[@]} files to $out"
