"""Provenance of a result: the config that produced it, its seeds, and the code and machine.

    python -m eval.provenance --config-json '{"seeds": [0, 1], ...}' --seed 0 1 \
        --config-file config.yaml --out results/provenance.json

``--config-json @FILE`` reads the JSON from a file instead (long configs, shell quoting).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import socket
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sggan.cli import run
from sggan.data.io import atomic_write_text
from sggan.version import DISTRIBUTION, REPO_ROOT, code_version


def canonical_json(value) -> str:
    """One text per value: sorted keys, no whitespace, so equal configs hash equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_record(path: str) -> dict:
    file = Path(path)
    digest = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else None
    return {"path": path, "sha256": digest}


def _torch_version() -> str | None:
    try:
        import torch  # imported here: only provenance needs it, and it is slow to import
    except ImportError:
        return None
    return torch.__version__


def _requirements() -> list[str]:
    """The project's requirement strings, its extras' included: from the installed package's
    metadata, else from the checkout's pyproject.toml (a copied tree that was never installed)."""
    try:
        return metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
        return project["dependencies"] + [
            r for extra in project.get("optional-dependencies", {}).values() for r in extra
        ]


def dependency_versions() -> dict[str, str | None]:
    """The installed version of every package the project requires, None where one is absent
    (an extra that was not installed)."""
    names = {re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", r).group(0) for r in _requirements()} - {DISTRIBUTION}
    versions = {}
    for name in sorted(names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance(config: dict, seeds: list[int], config_files: list[str]) -> dict:
    return {
        "config": config,
        "config_sha256": sha256_text(canonical_json(config)),
        "config_files": [_file_record(path) for path in config_files],
        "seeds": list(seeds),
        "code_version": code_version(),
        "torch_version": _torch_version(),
        "python_version": platform.python_version(),
        "dependencies": dependency_versions(),
        "hostname": socket.gethostname(),
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _load_config(value: str) -> dict:
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    config = json.loads(text)
    if not isinstance(config, dict):
        raise ValueError(f"the config must be a JSON object, got {type(config).__name__}")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.provenance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-json", required=True, help="the run's config as JSON text, or @FILE")
    parser.add_argument("--seed", type=int, nargs="+", required=True, help="the run's training seeds")
    parser.add_argument("--config-file", nargs="*", default=[], help="config files the run was started with")
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    try:
        config = _load_config(args.config_json)
    except (OSError, ValueError) as err:  # json.JSONDecodeError is a ValueError
        parser.error(f"--config-json: {err}")
    record = provenance(config, args.seed, args.config_file)
    atomic_write_text(args.out, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    run(main)
