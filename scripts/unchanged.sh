#!/usr/bin/env bash
# unchanged.sh DIR CMD...: run CMD and fail, showing the difference, if it changed anything under DIR.
# Used by the test command: nbdev-export must not change drunlearn/ and nbdev-clean must not change nbs/.
set -euo pipefail
dir=$1; shift
snap=$(mktemp -d)
cp -a "$dir" "$snap/before"
"$@" >/dev/null
excl=(--exclude=__pycache__ --exclude=.ipynb_checkpoints --exclude=nbdev.yml --exclude='*.pyc')
if ! diff -ruN "${excl[@]}" "$snap/before" "$dir" > "$snap/diff"; then
  echo "FAILED: '$*' changed $dir/ (the copy from before it ran is in $snap/before):"
  head -n 60 "$snap/diff"
  case "$dir" in
    drunlearn*) echo "drunlearn/ is generated from nbs/: edit the notebook and run nbdev-export, never the .py file.";;
    nbs*) echo "Notebooks must be clean: run nbdev-clean (or nbdev-install-hooks once) and commit the result.";;
  esac
  exit 1
fi
rm -rf "$snap"
echo "ok: '$*' left $dir/ unchanged"
