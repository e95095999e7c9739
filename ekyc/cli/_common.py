"""Exit statuses shared by every subcommand, and the parser that uses them for usage errors."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from ekyc.errors import EkycError, InputError, ModelError, StepNotAllowed

EXIT_OK, EXIT_FAIL, EXIT_REVIEW = 0, 1, 2
EXIT_USAGE, EXIT_DATAERR, EXIT_UNAVAILABLE, EXIT_SOFTWARE = 64, 65, 69, 70

_EXIT_BY_ERROR: tuple[tuple[type[EkycError], int], ...] = (
    (InputError, EXIT_DATAERR),
    (StepNotAllowed, EXIT_DATAERR),
    (ModelError, EXIT_UNAVAILABLE),
)


def exit_status_for(error: EkycError) -> int:
    """The exit status that stands for a library error class."""
    for cls, status in _EXIT_BY_ERROR:
        if isinstance(error, cls):
            return status
    return EXIT_SOFTWARE


class Parser(argparse.ArgumentParser):
    """argparse with usage errors exiting 64 (EX_USAGE), not 2 (which means "review")."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")
