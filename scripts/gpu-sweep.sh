#!/usr/bin/env bash
# Issue 2 on the GPU: the fast preset and one-change variants of it, all at once (one thread each: 15 torch
# processes with 16 threads each would thrash 16 cores), fp32 as on the CPU. Results in $OUT/sweep.txt.
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
gunzip -rkf .devdata >/dev/null 2>&1; export VACDEMO_DATA=$PWD/.devdata
mkdir -p sweep
variants=("base:" "seed1:--seed 1" "seed2:--seed 2" "lr2e-3:--set lr=0.002" "lr5e-4:--set lr=0.0005"
  "delta1:--set capacity_smoothing=1.0" "delta5:--set capacity_smoothing=5.0" "delta0.05:--set capacity_smoothing=0.05"
  "ys1:--set class_samples=1" "ys32:--set class_samples=32" "klbatch:--set kl_reduction=batch"
  "klbatch-delta1:--set kl_reduction=batch --set capacity_smoothing=1.0" "ramp1:--set capacity_ramp_epochs=1.0"
  "clip5:--set grad_clip=5.0" "b128lr2e-3:--batch-size 128 --set lr=0.002")
pids=()
for v in "${variants[@]}"; do
  name=${v%%:*}; extra=${v#*:}
  timeout ${SWEEP_S:-170} python3 -m vacdemo train --dataset mnist --preset fast --device ${DEVICE:-cuda} \
    --set bf16=false $extra --out sweep/$name > sweep/$name.log 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"
for v in "${variants[@]}"; do name=${v%%:*}
  echo "$name $(python3 -c "import json;h=json.load(open('sweep/$name/metrics.json'));print(' '.join(f\"{r['test_accuracy']:.4f}\" for r in h), h[-1]['wall_s'])" 2>&1 | tail -1)"
done | tee $OUT/sweep.txt
tar czf $OUT/sweep.tgz --exclude=model.safetensors sweep
