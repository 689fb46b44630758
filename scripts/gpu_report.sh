#!/usr/bin/env bash
# The report's GPU setting for claims 3 and 7 on one lent GPU, in one bounded command: its 14
# trained runs (train_resize 6, train_disc 8: photos at 64 px, 2 seeds, STEPS steps) all at once
# (--concurrent), then the report folder packed into OUT/report.tar.gz (no tensors or
# checkpoints), the GPU's use every 5 s in OUT/gpu_use.csv, everything said in OUT/log.txt, and
# the verdicts, the claims' tables and the runs' speed printed last, so they are in the output's
# tail even if no file comes back.
#
#   bash scripts/gpu_report.sh [OUT [REPORT ARGS...]]
#
# DEVICE (cuda) is the runs' device; STEPS (5000) their steps; LIMIT (500) the seconds after
# which the runs are stopped and whatever finished is rendered (on an H200 at 470 s the
# bilinear pair stood at steps 4,700 and 4,794); PYTHON (python3) the
# interpreter. The whole script ends within LIMIT + about 100 s (wheels, start, figures,
# packing). A CPU rehearsal, unchanged but for the device, the interpreter and a tiny size:
#   DEVICE=cpu STEPS=20 PYTHON=/tmp/rehearse_venv/bin/python bash scripts/gpu_report.sh \
#       /tmp/rehearse_out dataset.image_size=16 dataset.num_images=512 model.g_channels=8 \
#       model.d_channels=8 eval.num_samples=64
set -u
OUT=${1:-gpu_report}
shift $(($# > 0 ? 1 : 0))
DEVICE=${DEVICE:-cuda} STEPS=${STEPS:-5000} LIMIT=${LIMIT:-500}
PYTHON=${PYTHON:-python3}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
source "$(dirname "$0")/gpu_env.sh"
WORK=$(mktemp -d)/report # outside OUT: only 8 files, 2 folders deep, come back from there
START=$SECONDS

if command -v nvidia-smi >/dev/null; then
    nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used,power.draw --format=csv \
        -l 5 >"$OUT/gpu_use.csv" 2>&1 &
    WATCH=$!
fi
if [ "$STEPS" -lt 5000 ]; then
    echo "== cut to fit: $STEPS steps instead of the GPU setting's 5000 (the page says so too)"
fi
echo "== report: claims 3,7, GPU setting, device $DEVICE, $STEPS steps, runs stopped at $LIMIT s"
timeout -k 10 $((LIMIT + 45)) $PY -m checkerboard_gan.report --setting gpu --device "$DEVICE" \
    --claims 3,7 --concurrent --steps "$STEPS" --time-limit "$LIMIT" --out "$WORK" "$@"
echo "== report: exit $?, $((SECONDS - START)) s"
[ -n "${WATCH:-}" ] && kill "$WATCH"

timeout 30 $PY scripts/pack_report.py "$WORK" "$OUT/report.tar.gz"
echo "== packed: exit $?, $((SECONDS - START)) s since the report began"
cp "$WORK/report.md" "$OUT/report.md" 2>/dev/null

# The numbers, last (the output's tail holds them even if no file comes back): each run's status,
# speed and finest-period content, then the page up to its run listing without links (verdicts, setting,
# wall time, images/s together, the claim 3 and 7 tables).
$PY - "$WORK" <<'EOF'
import sys
from pathlib import Path
from checkerboard_gan.analysis.catalogue import CONTENT, Periods
from checkerboard_gan.rundir.record import read_record
for m in sorted(Path(sys.argv[1], "runs").glob("*/*/metrics.json")):
    d = read_record(m.parent) or {}
    swept = [o for o in d.get("overrides", []) if o.startswith(("upsample=", "disc=", "seed="))]
    ev, periods = d.get("evaluations") or [{}], Periods.from_record(d)
    key = CONTENT.key(periods.finest) if periods else "content (no periods recorded)"
    c = [e.get("fake", {}).get(key, float("nan")) for e in (ev[0], ev[-1])]
    print(f"{m.parent.parent.name} {' '.join(swept)}: {d.get('status')}, "
          f"{d.get('throughput_img_s', 0):.0f} img/s, wall {d.get('wall_s', 0):.0f} s, "
          f"{key} {c[0]:.3g} -> {c[1]:.3g} at step {ev[-1].get('step')}")
EOF
if [ -f "$WORK/report.md" ]; then
    awk '/^## /{keep = ($0 ~ /^## (How these numbers|Claim 3:|Claim 7:)/)} keep' "$WORK/report.md" |
        grep -v -e '^$' -e '^<a id' -e '^\[!\[' -e '^\*[^*]' -e '^| \[Claim [12456]' |
        sed -e 's/ \[run\]([^)]*) |/ |/g' -e 's/\[\([^]]*\)\](#[^)]*)/\1/g' | cut -c1-600
fi
echo "== done in $((SECONDS - START)) s"
