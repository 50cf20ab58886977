#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run). Fails on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
export PATH="$PWD/$BIN:$PATH"
echo "== 1/4 the library is in sync with the notebooks (nbdev-export)"
bash scripts/unchanged.sh drunlearn nbdev-export
echo "== 2/4 the notebooks are clean (nbdev-clean)"
bash scripts/unchanged.sh nbs nbdev-clean
echo "== 3/4 pytest: every notebook, tests/, and the docs pre-processing"
python -m pytest -n "${JOBS:-2}" -p no:cacheprovider
echo "== 4/4 docs site"
if command -v quarto >/dev/null; then nbdev-docs; else echo "quarto is not on PATH: skipping nbdev-docs (the pre-processing above ran)"; fi
