#!/bin/bash
# Copy a study's measurements (not its checkpoints or logs) into a report folder, for committing; several work
# folders (one per data set, say) merge into one report; run.json invocations are added, never dropped:
#   scripts/collect-study.sh runs/reproduce/cpu-fast-mnist runs/reproduce/cpu-fast-fmnist reports/cpu-fast/data
# Only measured models (measure.json) travel; --report-only rebuilds every number from the copy.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 WORK [WORK ...] DEST" >&2; exit 2; }
dest=${!#}
works=("${@:1:$#-1}")
mkdir -p "$dest"
python3 - "$dest/run.json" "${works[@]}" <<'EOF'
import json, sys
from pathlib import Path
dest = Path(sys.argv[1])
calls = json.loads(dest.read_text())["invocations"] if dest.exists() else []  # a later collect adds, never drops
for work in sys.argv[2:]:
    run = Path(work) / "run.json"
    if not run.exists():
        print(f"note: no {run} yet (a run writes it when it ends): its invocations are not recorded")
        continue
    calls += [c for c in json.loads(run.read_text())["invocations"] if c not in calls]
dest.write_text(json.dumps({"invocations": calls}, indent=1))
EOF
for work in "${works[@]}"; do
  for dir in "$work"/judge-*; do
    [ -f "$dir/judge.json" ] || continue
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
done
du -sh "$dest"
