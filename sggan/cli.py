"""How every ``python -m`` entry point reports a user's mistake: one ``error: ...`` line, exit code 2.

A mistake in what the user gave (a flag, a file, a config value, a dataset) raises
:class:`UserError` (or its subclass :class:`sggan.data.io.DataError`) with a message that names
the file or key and the fix. :func:`run` turns it into that one line; any other exception is a
bug and keeps its traceback.

    if __name__ == "__main__":
        run(main)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn

#: argparse's exit status for a usage error; every user error exits with it.
USER_ERROR_EXIT = 2


class UserError(Exception):
    """A mistake in the user's input; the message names the file or key and the fix."""


def run(main: Callable[[], int | None]) -> NoReturn:
    """Call an entry point's ``main()`` and exit with its status; a user error becomes one line."""
    try:
        status = main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT)
    sys.exit(status or 0)


def parse_json(text: str, flag: str) -> Any:
    """The JSON value of a command-line flag, or a UserError naming the flag."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{flag}: not valid JSON ({err}): {text!r}") from None
