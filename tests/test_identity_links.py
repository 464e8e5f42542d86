"""The source-only row links its frames instead of copying them."""

import errno
import os
import stat

import numpy as np
from conftest import make_frame

from sggan.adapt import main as adapt_main
from sggan.data.io import read_frame_list, read_image, write_frame_list
from sggan.translators import identity


def adapt_identity(tmp_path, frames):
    write_frame_list(tmp_path / "frames.tsv", frames)
    adapt_main(
        [
            "--model",
            "identity",
            "--frames",
            str(tmp_path / "frames.tsv"),
            "--out",
            str(tmp_path / "out"),
            "--working-size",
            "16",
            "32",
            "--done",
            str(tmp_path / "done.tsv"),
            "--device",
            "cpu",
        ]
    )
    return read_frame_list(tmp_path / "done.tsv")


def test_frames_of_their_labels_size_are_hard_links_and_others_are_resized(tmp_path):
    same = make_frame(tmp_path / "src", "a", (20, 30), (20, 30), seed=1)
    other = make_frame(tmp_path / "src", "b", (40, 60), (20, 30), seed=2)
    os.chmod(same.image, 0o444)  # a read-only dataset stays as it is
    done = adapt_identity(tmp_path, [same, other])
    out_same, out_other = (tmp_path / "out" / "a.png"), (tmp_path / "out" / "b.png")
    assert [f.image for f in done] == [out_same, out_other]
    assert os.path.samefile(out_same, same.image) and os.stat(same.image).st_nlink == 2
    assert stat.S_IMODE(os.stat(same.image).st_mode) == 0o444
    assert not os.path.samefile(out_other, other.image)
    assert read_image(out_other).shape == (20, 30, 3)
    # a second run finds every frame done and changes nothing
    before = os.stat(out_other).st_mtime_ns
    adapt_identity(tmp_path, [same, other])
    assert os.stat(out_other).st_mtime_ns == before and os.stat(same.image).st_nlink == 2


def test_across_filesystems_a_symbolic_link_to_the_absolute_source(tmp_path, monkeypatch):
    def no_hard_link(source, target):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(identity.os, "link", no_hard_link)
    frame = make_frame(tmp_path / "src", "a", (20, 30), (20, 30), seed=1)
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "moved-away.png", tmp_path / "out" / "a.png")  # dangling: redone
    adapt_identity(tmp_path, [frame])
    out = tmp_path / "out" / "a.png"
    assert out.is_symlink() and os.readlink(out) == str(frame.image.absolute())
    assert np.array_equal(read_image(out), read_image(frame.image))
