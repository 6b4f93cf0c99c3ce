#!/usr/bin/env bash
# Runs the sequence (Darcy and Helmholtz rows), completion and BCD benches of two
# revisions side by side, interleaved (before, after, before, after, …) in one run, so
# that a slow-down of the shared machine hits both: the "no speed regression" check of a
# refactoring. Builds REV (default: the parent of HEAD) in a git worktree beside the
# repository, sharing this checkout's target directory for the dependencies.
#   benches/before_after.sh [REV] [DARCY_COUNT] [HELMHOLTZ_COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD~1}
darcy=${2:-100}
helm=${3:-100}
wt=$(mktemp -d)/before
git worktree add -f "$wt" "$rev" -q
trap 'git worktree remove --force "$wt"' EXIT
target=$(pwd)/target
bin() { # the bench executable cargo reports for one bench of one checkout
    (cd "$1" && CARGO_TARGET_DIR="$target" cargo bench --no-run --bench "$2" --message-format=json 2>/dev/null) |
        grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4
}
out=$(mktemp -d)
for b in sequence completion bcd; do
    cp "$(bin "$wt" $b)" "$out/$b-before"
    cp "$(bin . $b)" "$out/$b-after"
done
run() { echo "== $1 $2: ${*:3}"; "$out/$2-$1" "${@:3}"; }
for side in before after; do run $side sequence darcy 100 "$darcy"; done
for side in before after; do run $side sequence helmholtz 100 "$helm" 1e-8 ilu0; done
for side in before after; do run $side completion; done
for side in before after; do run $side bcd; done
