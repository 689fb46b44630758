# Sourced by the GPU scripts after they set OUT: the interpreter (PYTHON, default python), the
# checkout on PYTHONPATH, unbuffered output copied to OUT/log.txt, and the machine's versions.
# A machine without Hydra (the lent GPU machines) gets the wheels carried in .whl/ (hydra-core,
# omegaconf, antlr4-python3-runtime, hydra-joblib-launcher, google-crc32c), installed into
# SITE (default /tmp/site) and put on PYTHONPATH after the checkout.
PY=${PYTHON:-python}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HYDRA_FULL_ERROR=1
exec > >(tee "$OUT/log.txt") 2>&1
if ! $PY -c "import hydra, omegaconf" 2>/dev/null && compgen -G ".whl/*.whl" >/dev/null; then
    SITE=${SITE:-/tmp/site}
    echo "no Hydra here: installing $(ls .whl/*.whl | xargs -n1 basename | tr '\n' ' ')into $SITE"
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl
    export PYTHONPATH="$PYTHONPATH:$SITE"
fi
nvidia-smi -L || echo "(no nvidia-smi here)"
$PY -c "import torch, hydra; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA device', 'hydra-core', hydra.__version__)"
