#!/usr/bin/env bash
# Creates Tools/.venv with torch (CPU) + recbole==1.2.1 for training and exporting.
# Idempotent: re-running only installs what is missing.
# The SeqRec runtime itself never needs this venv; only Tools/train_* and export_* do.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)

# Prefer a local CPU wheel when the machine has one (pip's find-links), else PyPI's torch.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  if ls /opt/wheels/torch-*cpu*.whl >/dev/null 2>&1; then
    "${PIP[@]}" --find-links /opt/wheels torch
  else
    "${PIP[@]}" torch
  fi
fi

# recbole's own pins (colorlog/colorama, tensorboard, thop, plotly...) come with it.
# ray/hyperopt are only for its hyper-parameter tuning and are not installed.
if ! "$VENV/bin/python" -c "import recbole" 2>/dev/null; then
  "${PIP[@]}" "recbole==1.2.1"
fi
# numpy/pandas are recbole deps already; listed so the exporters' needs are explicit.
"${PIP[@]}" numpy pandas

"$VENV/bin/python" - <<'PY'
import numpy, torch, importlib.metadata as md
print("venv ok: torch", torch.__version__, "numpy", numpy.__version__,
      "recbole", md.version("recbole"))
PY
