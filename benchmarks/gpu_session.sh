#!/usr/bin/env bash
# Every GPU check of the project in one call on a machine with an NVIDIA GPU, CuPy, and
# (optionally) PyTorch, run from a copy of the repository without installing it:
#
#   OUT=/some/dir bash benchmarks/gpu_session.sh
#
# 1. the machine: nvidia-smi, nvcc, CuPy / PyTorch / NumPy versions         -> $OUT/info.txt
# 2. the whole test suite, CuPy cases included (pytest-xdist if present)     -> $OUT/pytest.log
# 3. benchmarks/alexnet.py --device cuda: batch 128 and 256, fp32 and TF32,
#    PyTorch side by side where installed, per-layer GPU times              -> $OUT/bench.log, $OUT/*.json
#    and benchmarks/optimizers.py --device cuda (fused updates vs array ops) -> $OUT/optimizers.log
# 4. a real training run: the mini AlexNet on the generated set, on the GPU -> $OUT/train.log,
#    $OUT/metrics.jsonl, $OUT/curves.png
# Each step has its own time limit, so one that hangs or fails leaves the others' results.
set -u
OUT=${OUT:-/tmp/tinynet-gpu}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
T_TESTS=${T_TESTS:-210} T_BENCH=${T_BENCH:-200} T_TRAIN=${T_TRAIN:-120}
stamp() { echo "[$(date +%T)] $*"; }

stamp "1. machine" | tee "$OUT/info.txt"
{
    nvidia-smi
    nvcc --version | tail -2
    python3 -c "import sys, numpy, cupy; print('python', sys.version.split()[0], 'numpy', numpy.__version__, 'cupy', cupy.__version__, 'cuda runtime', cupy.cuda.runtime.runtimeGetVersion(), 'driver', cupy.cuda.runtime.driverGetVersion())"
    python3 -c "import torch; print('torch', torch.__version__, 'cudnn', torch.backends.cudnn.version())"
    nproc
} >>"$OUT/info.txt" 2>&1

stamp "2. test suite on NumPy and CuPy (limit ${T_TESTS}s)"
XDIST=""
python3 -c "import xdist" 2>/dev/null && XDIST="-n 12"
timeout "$T_TESTS" python3 -m pytest -q -rfE $XDIST -p no:cacheprovider --durations=10 >"$OUT/pytest.log" 2>&1
echo "pytest exit $?" >>"$OUT/pytest.log"
tail -n 25 "$OUT/pytest.log"

stamp "3. benchmark (limit ${T_BENCH}s)"
timeout "$T_BENCH" python3 benchmarks/alexnet.py --device cuda --repeat 20 >"$OUT/bench.log" 2>&1
timeout 120 python3 benchmarks/optimizers.py --device cuda --repeat 20 >"$OUT/optimizers.log" 2>&1
echo "optimizers benchmark exit $?" >>"$OUT/optimizers.log"
echo "benchmark exit $?" >>"$OUT/bench.log"
cp benchmarks/results/gpu-*.json "$OUT/" 2>/dev/null
grep -A4 "^== " "$OUT/bench.log" | head -n 60

stamp "4. training on the GPU (limit ${T_TRAIN}s)"
rm -rf /tmp/tinynet-gpu-run
TINYNET_CACHE=/tmp/tinynet-gpu-cache timeout "$T_TRAIN" python3 -m tinynet.cli train --device cuda --epochs 8 \
    -j 8 --output-dir /tmp/tinynet-gpu-run --no-progress >"$OUT/train.log" 2>&1
echo "train exit $?" >>"$OUT/train.log"
cp /tmp/tinynet-gpu-run/metrics.jsonl /tmp/tinynet-gpu-run/curves.png "$OUT/" 2>/dev/null
tail -n 12 "$OUT/train.log"
stamp "done"
