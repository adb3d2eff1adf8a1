#!/bin/bash
# Copy a study's measurements (not its checkpoints or logs) into a report folder, for committing:
#   scripts/collect-study.sh runs/reproduce/cpu-fast-mnist reports/cpu-fast-mnist/data
# Only measured models (measure.json) travel; --report-only rebuilds every number from the copy.
set -euo pipefail
work=$1 dest=$2
mkdir -p "$dest"
cp "$work/run.json" "$dest/" 2>/dev/null || true
for dir in "$work"/judge-*; do
  mkdir -p "$dest/$(basename "$dir")" && cp "$dir"/judge.json "$dest/$(basename "$dir")/"
done
for dir in "$work"/*/; do
  [ -f "$dir/measure.json" ] || continue
  name=$(basename "$dir")
  mkdir -p "$dest/$name"
  for f in config.json metrics.json weights.json measure.json measure.safetensors second.json second.safetensors; do
    [ -f "$dir/$f" ] && cp "$dir/$f" "$dest/$name/"
  done
done
du -sh "$dest"
