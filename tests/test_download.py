"""The GTA-V archive list and the check of an extracted tree, on fake trees of empty files."""

import subprocess
import sys

import pytest

from sggan.data import download
from sggan.data.io import DataError


def test_archive_urls_and_part_ranges():
    urls = download.archive_urls()
    assert len(urls) == 20
    assert urls[0] == "https://download.visinf.tu-darmstadt.de/data/from_games/data/01_images.zip"
    assert urls[1] == "https://download.visinf.tu-darmstadt.de/data/from_games/data/01_labels.zip"
    assert urls[-1] == "https://download.visinf.tu-darmstadt.de/data/from_games/data/10_labels.zip"
    assert download.part_frame_ids(1)[0] == "00001" and download.part_frame_ids(1)[-1] == "02500"
    assert download.part_frame_ids(3)[0] == "05001" and len(download.part_frame_ids(3)) == 2500
    assert download.part_frame_ids(10)[0] == "22501" and download.part_frame_ids(10)[-1] == "24966"
    assert sum(len(download.part_frame_ids(k)) for k in range(1, 11)) == 24966


@pytest.fixture
def full_tree(tmp_path, monkeypatch):
    """A complete tree of empty files (the check reads names only), with parts of 4 frames and
    38 frames in all instead of 2500 and 24966, so part 10 is short like the real one."""
    monkeypatch.setattr(download, "FRAMES_PER_PART", 4)
    monkeypatch.setattr(download, "FRAMES", 38)
    root = tmp_path / "gta"
    for kind in ("images", "labels"):
        (root / kind).mkdir(parents=True)
        for n in range(1, 39):
            (root / kind / f"{n:05d}.png").touch()
    (root / "images" / ".DS_Store").touch()  # ignored, like every non-PNG
    return root


def test_a_complete_tree_passes(full_tree):
    assert download.check(full_tree).endswith("all 20 archives complete, 38 frames with image and label")
    assert download.lacking(full_tree) == []


def test_missing_and_incomplete_archives_are_named(full_tree, capsys):
    for n in range(9, 13):  # all of part 3's labels
        (full_tree / "labels" / f"{n:05d}.png").unlink()
    (full_tree / "images" / "00038.png").unlink()  # the last image of part 10: its label is unpaired
    with pytest.raises(DataError) as err:
        download.check(full_tree)
    message = str(err.value)
    assert "2 of 20 archives missing or incomplete" in message
    assert "03_labels.zip (missing: none of its 4 frames)" in message
    assert "10_images.zip (incomplete: 1 of 2 frames, first missing 00038)" in message
    assert "03_images.zip" not in message and "10_labels.zip" not in message
    # what to fetch again, ready for `wget -i -`
    assert download.main(["urls", "--root", str(full_tree)]) == 0
    assert capsys.readouterr().out.split() == [
        download.ARCHIVE_URL + "03_labels.zip",
        download.ARCHIVE_URL + "10_images.zip",
    ]


def test_command_line_prints_every_url_and_refuses_a_missing_root_in_one_line(tmp_path):
    command = [sys.executable, "-m", "sggan.data.download"]
    urls = subprocess.run([*command, "urls"], capture_output=True, text=True, check=True)
    assert urls.stdout.split() == download.archive_urls()
    checked = subprocess.run([*command, "check", "--root", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert checked.returncode == 2 and checked.stderr.startswith(f"error: GTA-V root {tmp_path / 'nowhere'}")
    assert "from_games" in checked.stderr and len(checked.stderr.strip().splitlines()) == 1
