"""One-line, actionable errors for bad input.

Every problem with a user's files is raised as :class:`InputError`, which carries the file it is about and what to
do. The CLI prints it as a single line and exits with status 2, so a Snakemake log shows one readable line.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: names the file, what is wrong, and what to do about it."""

    def __init__(self, path: str | Path | None, problem: str, fix: str) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.problem}; {self.fix}"
