#!/usr/bin/env bash
# One short check for a machine with a CUDA GPU (about 5 minutes), ending with one table: step, status, seconds.
#   bash benchmarks/gpu_check.sh            # with .venv/bin/python, or PY=python3 where torch (CUDA) and drunlearn are installed
# Steps: the GPUs seen; the `#| cuda` notebook cells; `fit` against a plain loop (fp32 and bf16); Blindspot and Retrain
# timings at the paper's scale; the two-process gloo tests; and, only when two GPUs exist, a 2-GPU NCCL study under
# torchrun. A step that fails is reported in the table and does not stop the others; a missing second GPU is "skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOG=${LOG:-$(mktemp -d)}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
: > "$LOG/summary"
step() {
  local name=$1; shift
  local t0=$(date +%s) status=ok
  echo "== $name: $*"
  "$@" > "$LOG/$name.log" 2>&1 || status=FAILED
  tail -n 30 "$LOG/$name.log"
  echo "$name|$status|$(( $(date +%s) - t0 ))" >> "$LOG/summary"
}
n_gpus=$($PY -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
step gpus $PY -c 'import torch; print(torch.__version__, torch.version.cuda); [print(i, torch.cuda.get_device_name(i)) for i in range(torch.cuda.device_count())]; assert torch.cuda.is_available()'
step cuda_cells env DRUNLEARN_TEST_FLAGS=cuda $PY -m pytest -q -p no:cacheprovider "tests/test_notebooks.py::test_notebook[08_train.ipynb]"
step bench_fit $PY benchmarks/bench_fit.py --device cuda --repeats 2
step unlearn_cost $PY benchmarks/bench_unlearn_cost.py --device cuda --copies 10
step ddp_gloo_cpu $PY -m pytest -q -p no:cacheprovider tests/test_distributed.py
if [ "${n_gpus:-0}" -ge 2 ]; then
  step ddp_nccl_2gpu $PY -m torch.distributed.run --standalone --nproc-per-node 2 -m drunlearn --quick --attacks none --out "$LOG/ddp-report"
else
  echo "ddp_nccl_2gpu|skipped (${n_gpus:-0} GPU)|0" >> "$LOG/summary"
fi
echo; echo "== summary (logs in $LOG)"
column -t -s '|' "$LOG/summary"
! grep -q '|FAILED|' "$LOG/summary"
