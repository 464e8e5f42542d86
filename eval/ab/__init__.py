"""The human A/B study of the paper's Table 1: which of two adaptations of a frame looks more realistic.

The paper showed Amazon Mechanical Turk workers 500 held-out GTA-V frames adapted at 256x512 by
two methods side by side and asked which image is more realistic; each cell of Table 1 is the
share of answers choosing method A. This package reproduces the study in three steps:

- :mod:`eval.ab.kit` builds a *kit* folder: the images of each configured pair of methods (left
  and right randomised and recorded), an export for crowd-sourcing platforms and ``study.json``;
- answers are collected into one SQLite file (:mod:`eval.ab.store`), by the local rating web app
  (:mod:`eval.ab.app`) for in-lab raters or by importing a crowd platform's results CSV;
- :mod:`eval.table1` tallies the answers into Table 1 with 95% Wilson intervals.

Every command is ``python -m eval.ab {kit,import,serve}`` (see :mod:`eval.ab.__main__`).
"""

QUESTION = "Which image is more realistic?"  # the paper's wording, shown to every rater
