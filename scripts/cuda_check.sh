#!/usr/bin/env bash
# The CUDA path on a GPU machine, in one go: the quickstart run (fp32, NCHW), the same with bf16
# autocast and channels_last, torch.compile, the trainer-vs-bare benchmark, and
# the training tests with their tiny runs on the GPU. Summaries go to stdout and OUT/log.txt.
#
#   bash scripts/cuda_check.sh [OUT]          (PYTHON=python3 to pick the interpreter)
set -u
OUT=${1:-cuda_check}
source "$(dirname "$0")/gpu_env.sh"

summary() {
    $PY - "$1" <<'PY'
import json, sys
try:
    m = json.load(open(f"{sys.argv[1]}/metrics.json"))
except OSError as err:
    sys.exit(f"  no metrics.json: {err}")
p = m["probes"]
print(f"  {m['status']} {m['steps']} steps, wall {m['wall_s']:.1f} s, {m['throughput_img_s']:.0f} img/s,"
      f" probes {m['probe_s']:.1f} s, checkerboard {p[0]['checkerboard']:.3f} -> {p[-1]['checkerboard']:.3f}",
      m.get("error", ""))
PY
}

run() {  # NAME OVERRIDES...: one run under $OUT/NAME, timed from command to exit
    local name=$1 start=$SECONDS
    shift
    timeout 200 $PY -m checkerboard_gan hydra.run.dir="$OUT/$name" "$@" > "$OUT/$name.out" 2>&1
    echo "== $name: exit $?, $((SECONDS - start)) s command to exit ($*)"
    tail -n 25 "$OUT/$name.out" | grep -iE "error|traceback|File \"" | tail -n 12
    summary "$OUT/$name"
}

run default
run bf16 train.amp=true train.channels_last=true
run compiled train.compile=true
echo "== bench (DCGAN-32, 3 rounds x 200 steps)"
timeout 150 $PY scripts/bench.py --arch dcgan32 --rounds 3 --steps 200 2>&1 | tail -n 12
echo "== training tests on the GPU"
CHECKERBOARD_GAN_TEST_DEVICE=cuda timeout 200 $PY -m pytest -q -rf -p no:cacheprovider \
    tests/test_trainer.py tests/test_run.py 2>&1 | tail -n 30
