#!/usr/bin/env bash
# The GPU session's one call (device tool, H100/H200), run from the repository root with the data packed by
# ../shared/scripts/pack-data in .devdata. Everything it writes comes back through $OUT:
#   1. (the issue-2 sweep that ran here first thrashed the 16 cores and moved to scripts/gpu-sweep.sh)
#   2. the aggregate throughput of 8 paper-width trainings at once, which sizes the epochs to the time left;
#   3. `python -m vacdemo reproduce` with the paper preset (models and measurements; the report is written
#      on a machine with plotly: python -m vacdemo reproduce --report-only --work runs/gpu).
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
T0=$(date +%s); BUDGET=${BUDGET:-540}; DEVICE=${DEVICE:-cuda}  # DEVICE=cpu BUDGET=200 EXTRA=...: a dry run
elapsed() { echo $(( $(date +%s) - T0 )); }
gunzip -rkf .devdata >/dev/null 2>&1; export VACDEMO_DATA=$PWD/.devdata
nvidia-smi -L; python3 -c "import torch, sklearn; print('torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 10 > $OUT/smi.csv 2>&1 &

# 2. throughput of 8 paper-width trainings at once → epochs that fit the time left (16 models, 2 waves)
agg=$(timeout 90 python3 scripts/probe_throughput.py --preset paper --jobs 8 --device $DEVICE --steps 40 | tee -a $OUT/log.txt | sed -n 's/AGGREGATE=//p')
left=$(( BUDGET - $(elapsed) - 100 ))
E=$(python3 -c "print(max(2, min(20, int($left * ${agg:-10000} / (16 * 60000 * 1.15)))))")
echo "aggregate ${agg:-?} img/s, ${left}s left for training → $E epochs" | tee -a $OUT/log.txt

# 3. the reproduction, cut off before the call's limit (finished models stay measured)
timeout $(( BUDGET - $(elapsed) - 15 )) python3 -m vacdemo reproduce --dataset all --preset paper --epochs $E \
  --n-test 1000 --n-fit 1000 --jobs 8 --device $DEVICE --work runs/gpu --no-report ${EXTRA:-} 2>&1 | tee -a $OUT/log.txt | grep -v "it/s"
echo "reproduce ended at $(elapsed)s"
tar czf $OUT/gpu-run.tgz --exclude=model.safetensors runs/gpu
ls -la $OUT
