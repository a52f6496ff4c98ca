#!/usr/bin/env bash
# Creates Tools/.venv (gitignored) with torch + recbole==1.2.1 for Tools/train_* and export_*.
# Idempotent: re-running only installs what is missing. The SeqRec runtime never needs it, and
# safetensors_io.py / evaluate_ml100k.py need only numpy.
#
# Versions are pinned to the ones the shipped model was trained with (and the shared fixtures
# were made with: torch 2.15.0 from PyPI, run on CPU). Override the location with SEQREC_VENV.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="${SEQREC_VENV:-$HERE/.venv}"
PY="${PYTHON:-python3}"

TORCH="${SEQREC_TORCH:-torch==2.15.0}"  # override to test or to pick another build
# recbole 1.2.1's own requirements, minus `ray`: ray is only imported by recbole.quick_start
# (hyper-parameter tuning), which these tools never import, and it is large.
RECBOLE_DEPS=(numpy==2.4.6 pandas==3.1.1 scipy tqdm "colorlog==4.7.2" "colorama==0.4.4"
              scikit-learn pyyaml tensorboard thop tabulate plotly texttable psutil)

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
pip_install() { "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@"; }
have() { "$VENV/bin/python" -c "import $1" 2>/dev/null; }

if ! have torch; then
  # The pinned PyPI wheel drags in ~3 GB of CUDA libraries; if that download fails and the
  # machine carries a local CPU wheel, use it instead (same code on CPU, different version).
  if ! pip_install "$TORCH"; then
    local_wheel="$(ls /opt/wheels/torch-*.whl 2>/dev/null | tail -1 || true)"
    [ -n "$local_wheel" ] || { echo "torch install failed" >&2; exit 1; }
    echo "warning: $TORCH failed; installing $local_wheel instead" >&2
    pip_install "$local_wheel"
  fi
fi
have recbole || pip_install --no-deps "recbole==1.2.1"
have colorlog && have thop && have sklearn && have tensorboard && have pandas || \
  pip_install "${RECBOLE_DEPS[@]}"

"$VENV/bin/python" - <<'PY'
import numpy, torch, importlib.metadata as md
# The import RecBole's trainer path needs (tensorboard, thop, colorlog...) must work.
for alias, target in (("float_", numpy.float64), ("complex_", numpy.complex128),
                      ("unicode_", numpy.str_)):
    if not hasattr(numpy, alias):
        setattr(numpy, alias, target)
import recbole.trainer, recbole.data, recbole.model.sequential_recommender  # noqa: F401
print("venv ok: torch", torch.__version__, "numpy", numpy.__version__,
      "pandas", md.version("pandas"), "recbole", md.version("recbole"))
PY
