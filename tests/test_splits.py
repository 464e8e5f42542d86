from pathlib import Path

import pytest

from sggan.data.io import DataError, Frame, read_frame_list
from sggan.data.splits import main, make_splits


def frames(prefix: str, count: int) -> list[Frame]:
    return [
        Frame(f"{prefix}{i:05d}", Path(f"img/{prefix}{i:05d}.png"), Path(f"lab/{prefix}{i:05d}.png"))
        for i in range(count)
    ]


def ids(frame_list):
    return [f.id for f in frame_list]


def test_splits_are_disjoint_sized_and_seeded():
    source, target = frames("s", 30), frames("t", 20)
    splits = make_splits(
        source,
        target,
        seed=3,
        translator_target=12,
        heldout_source=5,
        heldout_target=6,
        regimes={"2k": 10, "25k": None},
    )
    assert len(splits["heldout_source"]) == 5 and len(splits["2k/translator_source"]) == 10
    assert len(splits["heldout_target"]) == 6 and len(splits["translator_target"]) == 12
    assert not set(ids(splits["heldout_source"])) & set(ids(splits["2k/translator_source"]))
    assert not set(ids(splits["heldout_target"])) & set(ids(splits["translator_target"]))
    assert ids(splits["25k/translator_source"]) == ids(source)  # "all" keeps every source frame
    again = make_splits(
        list(reversed(source)),
        target,
        seed=3,
        translator_target=12,
        heldout_source=5,
        heldout_target=6,
        regimes={"2k": 10, "25k": None},
    )
    assert ids(again["2k/translator_source"]) == ids(splits["2k/translator_source"])  # listing order is irrelevant
    other = make_splits(
        source, target, seed=4, translator_target=12, heldout_source=5, heldout_target=6, regimes={"2k": 10}
    )
    assert ids(other["2k/translator_source"]) != ids(splits["2k/translator_source"])


def test_too_few_frames_names_the_config_section():
    with pytest.raises(DataError, match="splits"):
        make_splits(
            frames("s", 10),
            frames("t", 10),
            seed=0,
            translator_target=5,
            heldout_source=2,
            heldout_target=2,
            regimes={"2k": 9},
        )


def test_a_negative_count_is_refused_not_sliced_from_the_end():
    with pytest.raises(DataError, match="regime 2k: a count must not be negative, got -1"):
        make_splits(
            frames("s", 10),
            frames("t", 10),
            seed=0,
            translator_target=5,
            heldout_source=2,
            heldout_target=2,
            regimes={"2k": -1},
        )


def test_command_writes_every_list(tmp_path):
    from sggan.data.io import write_frame_list

    write_frame_list(tmp_path / "s.tsv", frames("s", 12))
    write_frame_list(tmp_path / "t.tsv", frames("t", 8))
    main(
        [
            "--source",
            str(tmp_path / "s.tsv"),
            "--target",
            str(tmp_path / "t.tsv"),
            "--seed",
            "0",
            "--translator-target",
            "4",
            "--heldout-source",
            "2",
            "--heldout-target",
            "2",
            "--regime",
            "2k=4",
            "--regime",
            "25k=all",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert len(read_frame_list(tmp_path / "out/2k/translator_source.tsv")) == 4
    assert len(read_frame_list(tmp_path / "out/25k/translator_source.tsv")) == 12
    assert read_frame_list(tmp_path / "out/heldout_source.tsv")[0].image.name.endswith(".png")
