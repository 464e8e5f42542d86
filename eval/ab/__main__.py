"""The human A/B study of Table 1: build the kit, collect answers, import crowd results.

    python -m eval.ab kit --frames results/splits/heldout_source.tsv \
        --adapted sggan-2k=results/adapted/sggan-2k/images --adapted cyclegan-2k=results/adapted/cyclegan-2k/images \
        --pair sggan-2k:cyclegan-2k=79.2 --num 500 --size 256 512 --seed 0 --out results/ab_study/kit
    python -m eval.ab serve --kit results/ab_study/kit --db results/ab_study/answers.sqlite [--host 127.0.0.1] [--port 8765]
    python -m eval.ab import --kit results/ab_study/kit --db results/ab_study/answers.sqlite --results Batch_results.csv

``kit`` writes the images, pairs and crowd export (eval/ab/kit.py); ``serve`` runs the local rating
web app for in-lab raters (eval/ab/app.py); ``import`` stores the answers of a crowd platform's
results CSV (eval/ab/store.py). Both collectors add to the same answers database, which only they
create and which nothing deletes; ``python -m eval.table1`` tallies it.
"""

from __future__ import annotations

import argparse
import sys

from eval.ab import app, kit, store
from eval.tables import method_and_path
from sggan.cli import run


def _arg(parse):
    """An argparse type from a parser that raises ValueError, so bad values get a usage error."""

    def convert(value):
        try:
            return parse(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = parse.__name__
    return convert


def port_number(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"{port} is not a TCP port; use one from 1024 to 65535 (0: any free port)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval.ab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("kit", help="build the study kit: images, pairs.csv, study.json, crowd/ export")
    p.add_argument(
        "--frames", required=True, help="held-out source frame list TSV (id image label); the first --num are used"
    )
    p.add_argument(
        "--adapted",
        type=method_and_path,
        action="append",
        required=True,
        metavar="NAME=DIR",
        help="a method's adapted images folder ({id}.png); repeat for every method of a --pair",
    )
    p.add_argument(
        "--pair",
        type=_arg(kit.parse_pair),
        action="append",
        required=True,
        metavar="A:B[=PAPER_PERCENT]",
        help="compare method A with B; optionally the paper's share of answers preferring A, shown "
        "beside the measured one; repeat, in table order",
    )
    p.add_argument("--num", type=int, required=True, help="frames per pair (the paper: 500)")
    p.add_argument(
        "--size",
        type=int,
        nargs=2,
        required=True,
        metavar=("H", "W"),
        help="size the images are shown at (the paper: 256 512)",
    )
    p.add_argument("--seed", type=int, required=True, help="seeds the left/right sides and the image names")
    p.add_argument(
        "--image-base-url",
        default="",
        help="URL where the kit folder is hosted for crowd workers (images/ under it); "
        "default: URLs relative to the kit",
    )
    p.add_argument("--out", required=True, help="kit folder (replaced whole)")

    p = sub.add_parser("serve", help="local rating web app for in-lab raters")
    p.add_argument("--kit", required=True, help="kit folder written by python -m eval.ab kit")
    p.add_argument("--db", required=True, help="answers database (SQLite; created if absent)")
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 lets other machines of the lab network in")
    p.add_argument("--port", type=_arg(port_number), default=8765)
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a DNS name raters use to reach this machine, besides its IP addresses, localhost "
        "and its host name (others are refused: DNS rebinding); repeat",
    )

    p = sub.add_parser("import", help="store the answers of a crowd platform's results CSV")
    p.add_argument("--kit", required=True, help="the kit whose crowd/batch.csv the crowd task used")
    p.add_argument("--db", required=True, help="answers database (SQLite; created if absent)")
    p.add_argument(
        "--results",
        required=True,
        help="results CSV with WorkerId, SubmitTime, AssignmentStatus, Input.pair_id, Answer.choice",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "kit":
        rows = kit.build_kit(
            args.frames,
            kit.adapted_folders(args.adapted),
            args.pair,
            args.num,
            tuple(args.size),
            args.seed,
            args.out,
            args.image_base_url,
        )
        print(f"kit {args.out}: {len(rows)} image pairs for {len(args.pair)} method pairs", file=sys.stderr)
    elif args.command == "import":
        report = store.import_crowd_results(args.db, args.kit, args.results)
        print(f"{args.results}: {report.summary()}")
    elif args.command == "serve":
        app.serve(args.kit, args.db, args.host, args.port, tuple(args.allowed_host))
    return 0


if __name__ == "__main__":
    run(main)
