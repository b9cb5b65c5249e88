"""On-demand virtual environments and timed runners for peer tools (Dolma, datatrove).

Each peer lives in its own virtual environment under a cache directory (default
``benchmarks/.venvs/``, gitignored) because their pins conflict with dolmakit's (Dolma needs
numpy<2). Environments are created on first use and reused afterwards; a marker file records
the install specification so a changed specification triggers a rebuild.

Command line::

    python benchmarks/peers.py ensure dolma datatrove   # create venvs, print timings
    python benchmarks/peers.py smoke --sample-docs 2000 # run each peer on a dev-corpus sample

The ``run_*`` helpers return wall-clock seconds of the peer run only (venv creation excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".venvs"
PEER_SCRIPTS = HERE / "peer_scripts"
DEV_CORPUS = Path("/work/shared/corpus/dev/documents")


@dataclass(frozen=True)
class PeerSpec:
    name: str
    requirements: tuple[str, ...]
    check: str  # python snippet run in the venv to verify the install


PEERS: dict[str, PeerSpec] = {
    "dolma": PeerSpec(
        name="dolma",
        requirements=("dolma==1.2.1", "boto3==1.26.161", "smart-open<7.4", "numpy<2"),
        check="import dolma, numpy; print('dolma', dolma.__version__ if hasattr(dolma, "
        "'__version__') else '?', 'numpy', numpy.__version__)",
    ),
    "datatrove": PeerSpec(
        name="datatrove",
        requirements=("datatrove[io,processing,cli]==0.10.1", "spacy"),
        check="import datatrove, spacy; from importlib.metadata import version; "
        "print('datatrove', version('datatrove'), 'spacy', spacy.__version__)",
    ),
}


def _base_python() -> str:
    """The interpreter used to create peer venvs: the base interpreter of the running one."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(base) if base.exists() else sys.executable


def _peer_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # Never let a peer try the network for telemetry or model hubs during a timed run.
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    env.pop("PYTHONPATH", None)
    if extra:
        env.update(extra)
    return env


def venv_dir(name: str, cache_dir: Path | None = None) -> Path:
    return (cache_dir or DEFAULT_CACHE) / name


def ensure_venv(name: str, cache_dir: Path | None = None, quiet: bool = True) -> Path:
    """Create (if needed) the venv for peer ``name``; return its python executable.

    Creation time is stored in ``<venv>/.dolmakit-peer.json`` (key ``created_seconds``).
    """
    spec = PEERS[name]
    root = venv_dir(name, cache_dir)
    py = root / "bin" / "python"
    marker = root / ".dolmakit-peer.json"
    if py.exists() and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("requirements") == list(spec.requirements):
            return py
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run([_base_python(), "-m", "venv", str(root)], check=True)
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        pip.append("-q")
    subprocess.run([*pip, "--upgrade", "pip"], check=True, env=_peer_env())
    subprocess.run([*pip, *spec.requirements], check=True, env=_peer_env())
    out = subprocess.run(
        [str(py), "-c", spec.check], check=True, capture_output=True, text=True, env=_peer_env()
    )
    elapsed = time.perf_counter() - t0
    marker.write_text(
        json.dumps(
            {
                "requirements": list(spec.requirements),
                "created_seconds": round(elapsed, 1),
                "check": out.stdout.strip(),
            },
            indent=1,
        )
    )
    return py


def venv_info(name: str, cache_dir: Path | None = None) -> dict:
    marker = venv_dir(name, cache_dir) / ".dolmakit-peer.json"
    return json.loads(marker.read_text()) if marker.exists() else {}
