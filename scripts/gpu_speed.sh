#!/usr/bin/env bash
# The speed figures of a GPU machine in one go (each part bounded in time, summaries to stdout
# and OUT/log.txt): trainer against the bare loop at log.every 100 and 10, steps/s per upsampling
# kind (bilinear through the fixed filter and through F.interpolate), bilinear forward+backward,
# a sweep's total throughput at 1, 4 and 8 concurrent runs, where a probing run's time goes, and
# the background-writer and training tests on the GPU.
#
#   bash scripts/gpu_speed.sh [OUT]          (PYTHON=python3 to pick the interpreter)
set -u
OUT=${1:-gpu_speed}
source "$(dirname "$0")/gpu_env.sh"
part() {  # SECONDS TITLE COMMAND...: one bounded part
    local limit=$1 title=$2 start=$SECONDS
    shift 2
    echo "== $title"
    timeout "$limit" "$@"
    echo "== $title: exit $?, $((SECONDS - start)) s"
}
part 150 "bench: trainer vs bare loop, default config" \
    $PY scripts/bench.py --arch default --rounds 3 --steps 600
part 60 "bare-loop speed per upsampling kind" \
    $PY scripts/bench_kinds.py --steps 200 --rounds 3
part 30 "bilinear x2 forward+backward" $PY scripts/bench_bilinear.py --device cuda --seconds 0.3
part 150 "sweep throughput at 1, 4, 8 concurrent runs (joblib launcher)" \
    $PY scripts/bench_concurrency.py --jobs 1,4,8 --steps 600
part 45 "profile: 300 steps at log.every=10" $PY -m cProfile -o "$OUT/probe.prof" \
    -m checkerboard_gan train.steps=300 log.every=10 hydra.run.dir="$OUT/profiled"
$PY -c "import pstats, sys; s = pstats.Stats(sys.argv[1]); s.sort_stats('cumtime').print_stats('checkerboard_gan', 30); s.sort_stats('tottime').print_stats(15)" \
    "$OUT/probe.prof" 2>&1 | grep -v '^\s*$' | cut -c1-160
rm -rf "$OUT/profiled"
export CHECKERBOARD_GAN_TEST_DEVICE=cuda
part 90 "background writer and training tests on the GPU" \
    $PY -m pytest -q -rf -p no:cacheprovider tests/test_background.py tests/test_trainer.py
