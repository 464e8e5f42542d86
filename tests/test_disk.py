"""The free-space check before adaptation."""

from collections import namedtuple

import pytest
from conftest import make_frame

from sggan import disk
from sggan.adapt import main as adapt_main
from sggan.data.io import DataError, read_frame_list, write_frame_list

Usage = namedtuple("Usage", "total used free")


def test_estimate_is_the_measured_upper_bound_of_full_resolution_frames():
    # 24,966 GTA-V frames at 1914x1052, at most 4.7 MB each: about 117 GB a translator
    assert disk.adapted_bytes(1, 1052, 1914) == pytest.approx(4.7e6, rel=1e-6)
    assert disk.adapted_bytes(24966, 1052, 1914) / 1e9 == pytest.approx(117.3, abs=0.1)


def test_free_space_of_a_folder_yet_to_be_made_is_its_nearest_existing_parent(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda path: asked.append(path) or Usage(100, 40, 60))
    assert disk.free_bytes(tmp_path / "results" / "adapted" / "x") == 60
    assert asked == [tmp_path]


def test_too_little_space_is_refused_with_both_sizes_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda path: Usage(10**12, 10**12 - 12 * 10**9, 12 * 10**9))
    disk.require_free_space(tmp_path, 12 * 10**9, "adapting 10 frames")  # just fits
    with pytest.raises(DataError) as err:
        disk.require_free_space(tmp_path / "out", 29_300_000_000, "adapting 6242 frames")
    message = str(err.value)
    assert message.startswith(
        f"adapting 6242 frames needs about 29.3 GB in {tmp_path / 'out'}, but its disk has 12.0 GB free"
    )
    assert "larger volume" in message and "\n" not in message


def test_sizes_read_in_the_unit_that_fits():
    assert [disk.readable(n) for n in (1_234_000_000_000, 29_300_000_000, 2_800, 12)] == [
        "1.2 TB",
        "29.3 GB",
        "2.8 kB",
        "12 bytes",
    ]


def test_adaptation_stops_before_writing_when_its_disk_is_too_small(tmp_path, monkeypatch):
    frames = [make_frame(tmp_path / "src", f"{i}", (20, 30), (20, 30), seed=i) for i in range(3)]
    write_frame_list(tmp_path / "frames.tsv", frames)
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda path: Usage(10**6, 10**6 - 1000, 1000))

    def adapt(model, *extra):
        adapt_main(
            [
                "--model",
                model,
                "--frames",
                str(tmp_path / "frames.tsv"),
                "--out",
                str(tmp_path / "out"),
                "--working-size",
                "16",
                "32",
                "--done",
                str(tmp_path / f"{model}.tsv"),
                "--device",
                "cpu",
                *extra,
            ]
        )

    # 3 frames of 20x30 at 2.33 bytes a pixel: 4.2 kB, where 1 kB is free
    with pytest.raises(
        DataError, match=rf"^adapting 3 frames needs about 4\.2 kB in {tmp_path / 'out'}, but its disk has 1\.0 kB free"
    ):
        adapt("sggan", "--run-dir", str(tmp_path / "run"))
    assert not (tmp_path / "out").exists()
    # the identity translator links its frames and writes nothing
    adapt("identity")
    assert len(read_frame_list(tmp_path / "identity.tsv")) == 3
