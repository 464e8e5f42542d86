"""The translator-quality table: machine metrics of each translator's held-out frames.

    python -m eval.quality --kid sggan-2k=results/quality/sggan-2k/kid.json \
        --semantic sggan-2k=results/quality/sggan-2k/semantic.json ... \
        --provenance results/provenance.json --out-csv results/tables/translator_quality.csv \
        --out-md results/tables/translator_quality.md

The paper judges realism by people only (Table 1); these columns let a machine rank translators too:
- ``kid_x100`` (± ``kid_x100_std`` over subsets) and ``fid``: Kernel and Fréchet Inception Distances
  between the adapted held-out frames and held-out real target frames (:mod:`eval.kid`), KID times
  100; lower is more realistic. ``inception`` names the network (``eval.kid --weights``), and the
  note under the table names it in full with its weights (file, sha256, source): only the standard
  TF-ported network (``tf-inception``) gives numbers comparable with published ones; the others
  rank the rows of one run only.
- ``semantic_*``: the oracle segmentation network on the adapted held-out frames, scored against
  their source labels (:mod:`eval.semantic`); higher means the layout survived the translation.
Rows follow the order of ``--kid``; a method may lack one of the two (its cells stay empty).
"""

from __future__ import annotations

import argparse

from eval.tables import (
    format_number,
    markdown_table,
    method_and_path,
    provenance_note,
    read_json,
    read_provenance,
    to_csv,
    unique_methods,
)
from sggan.cli import run
from sggan.data.io import DataError, atomic_write_text

SEMANTIC = ("pixel_acc", "class_acc", "class_iou")
COLUMNS = ("method", "kid_x100", "kid_x100_std", "fid", "inception", *(f"semantic_{m}" for m in SEMANTIC))
KID_KEYS = (
    "kid",
    "kid_std",
    "fid",
    "weights",
    "network",
    "comparable_with_literature",
    "subset_size",
    "subset_size_requested",
)


def read_kid(path: str) -> dict:
    data = read_json(path, "python -m eval.kid")
    if "kid" not in data or "kid_std" not in data:
        raise DataError(f"{path} lacks kid/kid_std; is it an eval.kid output?")
    missing = [k for k in KID_KEYS if k not in data]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)}: written by an older eval.kid; delete it and rerun")
    return data


def kid_cells(path: str) -> dict[str, str]:
    data = read_kid(path)
    return {
        "kid_x100": format_number(100 * data["kid"], 3),
        "kid_x100_std": format_number(100 * data["kid_std"], 3),
        "fid": format_number(data["fid"]),
        "inception": data["weights"],
    }


def network_note(kid_files: list[str]) -> str:
    """Which network and weights produced KID/FID (each distinct one, with the file's provenance),
    whether the numbers compare with published ones, and any capped KID subset size."""
    records = [read_kid(path) for path in kid_files]
    if not records:
        return "No KID/FID."
    networks = []
    for r in records:
        weights = f"weights {r['weights_file']} (sha256 {r['weights_sha256']}) from " if r.get("weights_file") else ""
        source = f"{weights}{r['weights_url']}" if r.get("weights_url") else "no weights file"
        comparable = (
            "comparable with published FID/KID of the same network at equal set sizes"
            if r["comparable_with_literature"]
            else "NOT comparable with published FID/KID: ranks the rows of this run only"
        )
        networks.append(f"{r['network']}; {source}; {comparable}")
    sizes = sorted({(r["subset_size"], r["subset_size_requested"]) for r in records})
    subsets = "; ".join(
        f"KID subsets of {used} frames" + (f" ({asked} requested, capped to the smaller set)" if used < asked else "")
        for used, asked in sizes
    )
    return f"Inception network: {' | '.join(dict.fromkeys(networks))}. {subsets}."


def semantic_cells(path: str) -> dict[str, str]:
    data = read_json(path, "python -m eval.semantic")
    missing = [m for m in SEMANTIC if m not in data]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)}; is it an eval.semantic output?")
    return {f"semantic_{m}": format_number(data[m]) for m in SEMANTIC}


def table_rows(kid: list[tuple[str, str]], semantic: list[tuple[str, str]]) -> list[dict[str, str]]:
    unique_methods(kid)
    unique_methods(semantic)
    methods = [m for m, _ in kid] + [m for m, _ in semantic if m not in dict(kid)]
    kid, semantic = dict(kid), dict(semantic)
    rows = []
    for method in methods:
        row = dict.fromkeys(COLUMNS, "")
        row["method"] = method
        if method in kid:
            row.update(kid_cells(kid[method]))
        if method in semantic:
            row.update(semantic_cells(semantic[method]))
        rows.append(row)
    return rows


def to_markdown(rows: list[dict[str, str]], provenance: dict, network: str) -> str:
    return (
        "Translator quality on the held-out source frames. kid_x100: Kernel Inception Distance x 100 "
        "and fid: Fréchet Inception Distance, to held-out target frames (lower is more realistic). "
        "semantic_*: the oracle segmentation network on the adapted frames scored against their "
        "source labels (%; higher keeps more of the layout). source-only is the untranslated frame.\n\n"
        + markdown_table(rows, COLUMNS)
        + "\n\n"
        + network
        + "\n\n"
        + provenance_note(provenance)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--kid",
        type=method_and_path,
        action="append",
        default=[],
        metavar="METHOD=PATH.json",
        help="a translator's eval.kid output; repeat, in row order",
    )
    parser.add_argument(
        "--semantic",
        type=method_and_path,
        action="append",
        default=[],
        metavar="METHOD=PATH.json",
        help="a translator's eval.semantic output; repeat",
    )
    parser.add_argument("--provenance", required=True, help="JSON written by python -m eval.provenance")
    parser.add_argument("--out-csv", required=True)
    parser.add_argument("--out-md", required=True)
    args = parser.parse_args(argv)
    if not args.kid and not args.semantic:
        parser.error("give at least one --kid or --semantic")
    rows = table_rows(args.kid, args.semantic)
    network = network_note([path for _, path in args.kid])
    provenance = read_provenance(args.provenance)
    atomic_write_text(args.out_csv, to_csv(rows, COLUMNS))
    atomic_write_text(args.out_md, to_markdown(rows, provenance, network))
    return 0


if __name__ == "__main__":
    run(main)
