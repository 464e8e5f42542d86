import csv
import json
import os
import re
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest

from eval.ab import QUESTION, kit
from eval.ab.__main__ import main
from eval.ab.kit import Pair, balanced_sides, build_kit, parse_pair, read_pairs, read_study
from sggan.data.io import DataError, image_size, read_image

METHODS = {"sggan-2k": 40, "cyclegan-2k": 120, "dualgan-2k": 200}  # each method's grey level


def make_world(root: Path, num: int = 6, shape=(30, 60), methods=METHODS) -> tuple[Path, dict[str, Path]]:
    """A frame list and each method's adapted {id}.png; a method's images are all its grey level."""
    lines = ["id\timage\tlabel"]
    adapted = {}
    for method in methods:
        adapted[method] = root / "adapted" / method
        adapted[method].mkdir(parents=True)
    for i in range(num):
        lines.append(f"frame{i}\tsrc/frame{i}.png\tlabels/frame{i}.png")
        for method, grey in methods.items():
            cv2.imwrite(str(adapted[method] / f"frame{i}.png"), np.full((*shape, 3), grey, np.uint8))
    frames = root / "heldout.tsv"
    frames.write_text("\n".join(lines) + "\n")
    return frames, adapted


PAIRS = [Pair("sggan-2k", "cyclegan-2k", 79.2), Pair("sggan-2k", "dualgan-2k", None)]


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_kit_pairs_images_and_study(tmp_path):
    frames, adapted = make_world(tmp_path, num=6)
    out = tmp_path / "kit"
    rows = build_kit(frames, adapted, PAIRS, num=4, size=(16, 32), seed=5, out=out)

    assert len(rows) == 8 and read_pairs(out) == rows
    assert [r.pair_id for r in rows[:2]] == ["sggan-2k__vs__cyclegan-2k__frame0", "sggan-2k__vs__cyclegan-2k__frame1"]
    assert {r.frame_id for r in rows} == {"frame0", "frame1", "frame2", "frame3"}  # the first --num frames
    for row in rows:
        assert {row.left_method, row.right_method} == {row.method_a, row.method_b}
        for method, image in ((row.left_method, row.left_image), (row.right_method, row.right_image)):
            assert image_size(out / image) == (16, 32)
            assert (read_image(out / image) == METHODS[method]).all()  # the recorded side is what is shown
    # one file per (method, frame), named without the method or the frame
    names = sorted(p.name for p in (out / "images").iterdir())
    assert len(names) == 3 * 4
    assert all(re.fullmatch(r"[0-9a-f]{16}\.png", n) for n in names)
    assert len({r.left_image for r in rows} | {r.right_image for r in rows}) == 12

    study = read_study(out)
    assert study["pairs"] == [
        {"a": "sggan-2k", "b": "cyclegan-2k", "paper_percent": 79.2},
        {"a": "sggan-2k", "b": "dualgan-2k", "paper_percent": None},
    ]
    assert study["size"] == [16, 32] and study["seed"] == 5 and study["num_frames"] == 4
    assert "python -m eval.ab" in study["created"]


def test_sides_are_balanced_within_each_pair_and_seeded(tmp_path):
    frames, adapted = make_world(tmp_path, num=10)
    rows = build_kit(frames, adapted, PAIRS, num=10, size=(8, 16), seed=1, out=tmp_path / "kit")
    for pair in PAIRS:
        a_left = [r.left_method == pair.a for r in rows if r.method_b == pair.b]
        assert sum(a_left) == 5 and a_left != [True] * 5 + [False] * 5
    again = build_kit(frames, adapted, PAIRS, num=10, size=(8, 16), seed=1, out=tmp_path / "kit2")
    other = build_kit(frames, adapted, PAIRS, num=10, size=(8, 16), seed=2, out=tmp_path / "kit3")
    assert again == rows
    assert [r.left_method for r in other] != [r.left_method for r in rows]
    assert {r.left_image for r in other}.isdisjoint({r.left_image for r in rows})  # names depend on the seed

    # odd counts: the odd one out is a coin flip, so neither side is favoured
    rng = np.random.default_rng(0)
    counts = [int(balanced_sides(7, rng).sum()) for _ in range(400)]
    assert set(counts) == {3, 4} and 0.4 < np.mean(np.array(counts) == 4) < 0.6


def test_fewer_frames_than_num_uses_all(tmp_path):
    frames, adapted = make_world(tmp_path, num=3)
    rows = build_kit(frames, adapted, PAIRS[:1], num=500, size=(8, 16), seed=0, out=tmp_path / "kit")
    assert len(rows) == 3 and read_study(tmp_path / "kit")["num_frames"] == 3


def test_crowd_export(tmp_path):
    frames, adapted = make_world(tmp_path, num=4)
    out = tmp_path / "kit"
    rows = build_kit(
        frames, adapted, PAIRS, num=4, size=(16, 32), seed=0, out=out, image_base_url="https://example.org/study/"
    )
    batch = _read_csv(out / "crowd" / "batch.csv")
    assert list(batch[0]) == ["pair_id", "left_url", "right_url"]
    by_id = {r.pair_id: r for r in rows}
    assert sorted(b["pair_id"] for b in batch) == sorted(by_id)
    for b in batch:
        assert b["left_url"] == "https://example.org/study/" + by_id[b["pair_id"]].left_image
        assert b["right_url"] == "https://example.org/study/" + by_id[b["pair_id"]].right_image
        assert not any(m in b["left_url"] + b["right_url"] for m in METHODS)
    task = (out / "crowd" / "task.html").read_text()
    for needed in (
        "${left_url}",
        "${right_url}",
        'name="pair_id" value="${pair_id}"',
        'type="hidden"',
        'name="choice" value="left"',
        'name="choice" value="right"',
        QUESTION,
        "width: 32px",
    ):
        assert needed in task
    # without a base URL the URLs are relative to the kit
    build_kit(frames, adapted, PAIRS, num=4, size=(16, 32), seed=0, out=out)
    assert all(b["left_url"].startswith("images/") for b in _read_csv(out / "crowd" / "batch.csv"))


def test_kit_is_replaced_atomically(tmp_path, monkeypatch):
    frames, adapted = make_world(tmp_path, num=3)
    out = tmp_path / "kit"
    build_kit(frames, adapted, PAIRS, num=3, size=(8, 16), seed=0, out=out)
    (out / "stray.txt").write_text("from an older kit")
    build_kit(frames, adapted, PAIRS[:1], num=3, size=(8, 16), seed=0, out=out)
    assert not (out / "stray.txt").exists() and len(read_pairs(out)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapted", "heldout.tsv", "kit"]

    # a run dying midway leaves the previous kit as it was and no temporary folder behind
    before = (out / "pairs.csv").read_text()
    calls = []

    def dying_write(path, rgb):
        calls.append(path)
        if len(calls) == 4:
            raise KeyboardInterrupt
        cv2.imwrite(str(path), rgb)

    monkeypatch.setattr(kit, "write_image", dying_write)
    with pytest.raises(KeyboardInterrupt):
        build_kit(frames, adapted, PAIRS, num=3, size=(8, 16), seed=9, out=out)
    assert (out / "pairs.csv").read_text() == before and not (out / "stray.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapted", "heldout.tsv", "kit"]

    # leftovers of a hard kill (kill -9) are cleared by the next run
    (tmp_path / ".kit.abc123.tmp").mkdir()
    monkeypatch.undo()
    build_kit(frames, adapted, PAIRS, num=3, size=(8, 16), seed=0, out=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapted", "heldout.tsv", "kit"]


def test_errors_name_the_problem(tmp_path):
    frames, adapted = make_world(tmp_path, num=3)
    out = tmp_path / "kit"
    (adapted["dualgan-2k"] / "frame1.png").unlink()
    with pytest.raises(
        DataError,
        match=r"(?s)1 adapted images are missing.*dualgan-2k/frame1\.png.*"
        r"Run the adaptation of dualgan-2k",
    ):
        build_kit(frames, adapted, PAIRS, num=3, size=(8, 16), seed=0, out=out)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["adapted", "heldout.tsv"]
    with pytest.raises(DataError, match="names simgan-2k, which has no --adapted"):
        build_kit(frames, adapted, [Pair("sggan-2k", "simgan-2k")], num=3, size=(8, 16), seed=0, out=out)
    with pytest.raises(DataError, match="with itself"):
        build_kit(frames, adapted, [Pair("sggan-2k", "sggan-2k")], num=3, size=(8, 16), seed=0, out=out)
    with pytest.raises(DataError, match="more than once"):
        build_kit(frames, adapted, PAIRS[:1] * 2, num=3, size=(8, 16), seed=0, out=out)
    with pytest.raises(DataError, match="does not exist"):
        build_kit(tmp_path / "none.tsv", adapted, PAIRS[:1], num=3, size=(8, 16), seed=0, out=out)
    with pytest.raises(DataError, match="does not exist; build the kit"):
        read_study(out)


def test_pair_and_adapted_arguments():
    assert parse_pair("sggan-25k:sggan-2k") == Pair("sggan-25k", "sggan-2k", None)
    assert parse_pair("mine:cyclegan-2k=61.5") == Pair("mine", "cyclegan-2k", 61.5)
    for bad in ("mine", "mine:", ":b", "a:b=", "a:b=x", "a:b=120"):
        with pytest.raises(ValueError):
            parse_pair(bad)
    with pytest.raises(DataError, match="more than once: a"):
        kit.adapted_folders([("a", "x"), ("a", "y")])


def test_cli(tmp_path):
    frames, adapted = make_world(tmp_path, num=3)
    out = tmp_path / "kit"
    argv = [
        "kit",
        "--frames",
        str(frames),
        *[a for m, d in adapted.items() for a in ("--adapted", f"{m}={d}")],
        "--pair",
        "sggan-2k:cyclegan-2k=79.2",
        "--pair",
        "sggan-2k:dualgan-2k",
        "--num",
        "2",
        "--size",
        "8",
        "16",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert [p["paper_percent"] for p in json.loads((out / "study.json").read_text())["pairs"]] == [79.2, None]
    assert len(_read_csv(out / "pairs.csv")) == 4
    bad = [a.replace("sggan-2k:dualgan-2k", "sggan-2k:simgan-2k") for a in argv]
    with pytest.raises(DataError, match="names simgan-2k, which has no --adapted"):
        main(bad)
    with pytest.raises(SystemExit):
        main([a.replace("sggan-2k:cyclegan-2k", "sggan-2k") for a in argv])


def test_a_kit_is_readable_by_others_as_the_umask_allows(tmp_path):
    frames, adapted = make_world(tmp_path, num=2)
    previous = os.umask(0o022)
    try:
        build_kit(frames, adapted, PAIRS, num=2, size=(16, 32), seed=5, out=tmp_path / "kit")
    finally:
        os.umask(previous)
    modes = {
        path.relative_to(tmp_path).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in [tmp_path / "kit", *(tmp_path / "kit").rglob("*")]
    }
    assert all(mode == (0o755 if (tmp_path / name).is_dir() else 0o644) for name, mode in modes.items()), modes
