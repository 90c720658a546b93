#!/bin/bash
# Commit every finished run of results/fig2 (its four small files only), with the sweep's report regenerated from
# exactly those runs and docs/RESULTS.md section 1's tables quoted from it again.
#
#   bash scripts/commit_fig2_runs.sh                 # message: "results/fig2: N of 160 runs ..."
#   MSG="..." EXTRA_ADD="docs/BENCHMARKS.md" bash scripts/commit_fig2_runs.sh
#
# A sweep writes each run's absolute output path into its config.json; it is rewritten to results/fig2/<run>.
# Never `git add` a run folder moved from elsewhere: its checkpoints and databases come with it.
set -euo pipefail
cd "$(dirname "$0")/.."
snap=$(mktemp -d)
trap 'rm -rf "$snap"' EXIT
mkdir -p "$snap/fig2"
cp results/fig2/sweep.json "$snap/fig2/"
files=()
for d in results/fig2/*/; do
  name=$(basename "$d")
  [ -f "$d/summary.json" ] || continue
  sed -i "s|\"out\": \"[^\"]*\"|\"out\": \"results/fig2/$name\"|" "$d/config.json"
  mkdir -p "$snap/fig2/$name"
  for f in config.json episodes.csv metrics.csv summary.json; do
    cp "$d/$f" "$snap/fig2/$name/"
    files+=("results/fig2/$name/$f")
  done
done
rm -rf results/fig2/report
.venv/bin/python -m prefrl.cli report "$snap/fig2" --out results/fig2/report > "$snap/report.log" 2>&1 \
  || { cat "$snap/report.log"; exit 1; }
.venv/bin/python scripts/quote_fig2_report.py
n=$(grep -o '^[0-9]* of 160 runs finished' results/fig2/report/report.md | cut -d' ' -f1)
# shellcheck disable=SC2086  # EXTRA_ADD is a list of paths
git add docs/RESULTS.md results/fig2/.gitignore results/fig2/sweep.json results/fig2/report "${files[@]}" ${EXTRA_ADD:-}
git commit -qm "${MSG:-results/fig2: $n of 160 runs of the 8-task Figure-2 sweep (1M steps), with its report regenerated from exactly those runs}"
git log --oneline -1
