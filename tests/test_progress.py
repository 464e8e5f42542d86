"""Progress bars redraw rarely in log files and as usual on terminals."""

import io
import re
import time
from pathlib import Path

from sggan.progress import LOG_INTERVAL_S, tqdm


class Terminal(io.StringIO):
    def isatty(self):
        return True


def redraws(stream: io.StringIO) -> int:
    return stream.getvalue().count("\r")


def test_a_log_file_gets_the_first_and_last_state_of_a_short_loop():
    log, terminal = io.StringIO(), Terminal()
    for stream in (log, terminal):
        for _ in tqdm(range(40), file=stream):
            time.sleep(0.01)  # 0.4 s: four redraws at tqdm's default 0.1 s interval
    assert redraws(log) == 2  # at the start, and the final state when it closes
    assert redraws(terminal) >= 4
    assert "40/40" in log.getvalue()


def test_a_log_file_is_not_redrawn_by_each_postfix():
    log, terminal = io.StringIO(), Terminal()
    for stream in (log, terminal):
        bar = tqdm(total=40, file=stream)
        for step in range(40):
            bar.update()
            bar.set_postfix(loss=f"{1 / (step + 1):.3f}")  # as the training loops report their loss
        bar.close()
    assert redraws(log) == 2
    assert redraws(terminal) >= 40
    assert "loss=0.025" in log.getvalue()  # the last postfix reaches the log when the bar closes


def test_interval_defaults_by_stream_and_an_explicit_one_wins():
    assert tqdm(total=1, file=io.StringIO()).mininterval == LOG_INTERVAL_S == 30
    assert tqdm(total=1, file=Terminal()).mininterval == 0.1
    assert tqdm(total=1, file=io.StringIO(), mininterval=2).mininterval == 2


def test_every_progress_bar_of_the_product_is_the_throttled_one():
    # a plain tqdm in a job would redraw ten times a second into its log
    repo = Path(__file__).resolve().parents[1]
    sources = [p for package in ("sggan", "segmentation", "eval") for p in (repo / package).rglob("*.py")]
    direct = [
        str(p.relative_to(repo)) for p in sources if re.search(r"^\s*(from tqdm|import tqdm)", p.read_text(), re.M)
    ]
    assert direct == ["sggan/progress.py"]
