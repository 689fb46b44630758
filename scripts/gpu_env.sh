# Sourced by the GPU scripts after they set OUT: the interpreter (PYTHON, default python), the
# checkout on PYTHONPATH, unbuffered output copied to OUT/log.txt, and the machine's versions.
PY=${PYTHON:-python}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HYDRA_FULL_ERROR=1
exec > >(tee "$OUT/log.txt") 2>&1
nvidia-smi -L
$PY -c "import torch, hydra; print('torch', torch.__version__, torch.cuda.get_device_name(), 'hydra-core', hydra.__version__)"
