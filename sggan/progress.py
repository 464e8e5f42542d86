"""Progress bars fit for a terminal and for a job's log file.

    from sggan.progress import tqdm   # instead of `from tqdm import tqdm`

On a terminal the bar redraws as usual. Written to a file (Snakemake's `log:`, a cluster job's
output) it redraws at most every 30 s: each redraw appends a line there, and tqdm's default tenth
of a second would add about a kilobyte a second of carriage returns to the log.
"""

from __future__ import annotations

import sys

from tqdm import tqdm as _tqdm

LOG_INTERVAL_S = 30.0


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


class tqdm(_tqdm):
    """tqdm writing to stderr, at most every LOG_INTERVAL_S seconds unless stderr is a terminal;
    an explicit `mininterval` wins. In a log, `set_postfix` waits for the next redraw too (tqdm's
    default redraws at once, which a loop setting its loss every few steps turns into a redraw
    every few steps)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("file", sys.stderr)
        self._to_terminal = _is_terminal(kwargs["file"])
        if not self._to_terminal:
            kwargs.setdefault("mininterval", LOG_INTERVAL_S)
        super().__init__(*args, **kwargs)

    def set_postfix(self, ordered_dict=None, refresh=None, **kwargs):
        refresh = self._to_terminal if refresh is None else refresh
        super().set_postfix(ordered_dict, refresh=refresh, **kwargs)
