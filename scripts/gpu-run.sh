#!/usr/bin/env bash
# The GPU session's one call (device tool, H100/H200), run from the repository root with the data packed by
# ../shared/scripts/pack-data in .devdata. Everything it writes comes back through $OUT:
#   1. the fast preset and variants of it on MNIST (issue 2: which change lifts accuracy at the same cost);
#   2. the aggregate throughput of 8 paper-width trainings at once, which sizes the epochs to the time left;
#   3. `python -m vacdemo reproduce` with the paper preset (models and measurements; the report is written
#      on a machine with plotly: python -m vacdemo reproduce --report-only --work runs/gpu).
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s); BUDGET=${BUDGET:-540}; DEVICE=${DEVICE:-cuda}  # DEVICE=cpu BUDGET=200 SWEEP_S=5 EXTRA=...: a dry run
elapsed() { echo $(( $(date +%s) - T0 )); }
gunzip -rkf .devdata >/dev/null 2>&1; export VACDEMO_DATA=$PWD/.devdata
nvidia-smi -L; python3 -c "import torch, sklearn; print('torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 10 > $OUT/smi.csv 2>&1 &

# 1. issue 2: fp32 as on the CPU; each variant one change from the fast preset
mkdir -p sweep
variants=("base:" "seed1:--seed 1" "seed2:--seed 2" "lr2e-3:--set lr=0.002" "lr3e-3:--set lr=0.003"
  "delta1:--set capacity_smoothing=1.0" "delta0.05:--set capacity_smoothing=0.05" "ys1:--set class_samples=1"
  "klbatch:--set kl_reduction=batch" "ramp1:--set capacity_ramp_epochs=1.0" "delta5:--set capacity_smoothing=5.0"
  "klbatch-delta1:--set kl_reduction=batch --set capacity_smoothing=1.0" "clip5:--set grad_clip=5.0" "b128lr2e-3:--batch-size 128 --set lr=0.002")
pids=()
for v in "${variants[@]}"; do
  name=${v%%:*}; extra=${v#*:}
  timeout ${SWEEP_S:-100} python3 -m vacdemo train --dataset mnist --preset fast --device $DEVICE --set bf16=false \
    $extra --out sweep/$name > sweep/$name.log 2>&1 &
  pids+=($!)
done
wait "${pids[@]}"
for v in "${variants[@]}"; do name=${v%%:*}
  echo "$name $(python3 -c "import json;h=json.load(open('sweep/$name/metrics.json'));print(' '.join(f\"{r['test_accuracy']:.4f}\" for r in h), h[-1]['wall_s'])" 2>&1 | tail -1)"
done | tee $OUT/sweep.txt
echo "sweep done at $(elapsed)s"

# 2. throughput of 8 paper-width trainings at once → epochs that fit the time left (16 models, 2 waves)
agg=$(timeout 90 python3 scripts/probe_throughput.py --preset paper --jobs 8 --device $DEVICE --steps 40 | tee -a $OUT/log.txt | sed -n 's/AGGREGATE=//p')
left=$(( BUDGET - $(elapsed) - 100 ))
E=$(python3 -c "print(max(2, min(20, int($left * ${agg:-10000} / (16 * 60000 * 1.15)))))")
echo "aggregate ${agg:-?} img/s, ${left}s left for training → $E epochs" | tee -a $OUT/log.txt

# 3. the reproduction, cut off before the call's limit (finished models stay measured)
timeout $(( BUDGET - $(elapsed) - 15 )) python3 -m vacdemo reproduce --dataset all --preset paper --epochs $E \
  --n-test 1000 --n-fit 1000 --jobs 8 --device $DEVICE --work runs/gpu --no-report ${EXTRA:-} 2>&1 | tee -a $OUT/log.txt | grep -v "it/s"
echo "reproduce ended at $(elapsed)s"
tar czf $OUT/gpu-run.tgz --exclude=model.safetensors runs/gpu sweep
ls -la $OUT
