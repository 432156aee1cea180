"""One-line, actionable errors for bad input.

Every problem with a user's files is raised as :class:`InputError`, which carries the file it is about and what to
do. The CLI prints it as a single line and exits with status 2, so a Snakemake log shows one readable line.
"""

from __future__ import annotations

import errno
import functools
import resource
import shutil
import sys
from collections.abc import Callable
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


def one_line_errors(main: Callable[..., int]) -> Callable[..., int]:
    """Decorate a CLI ``main``: an :class:`InputError` becomes one ``error:`` line on stderr and exit status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except InputError as err:
            print(f"error: {err.one_line()}", file=sys.stderr)
            return 2

    return wrapper


def write_failure(path: str | Path, err: BaseException, written: int = 0) -> InputError:
    """One line for a write the filesystem refused (full disk, file-size limit, quota), naming ``path``. Some
    writers (torch's zip writer) report a short write without the errno; the cause is then read off the file-size
    limit and the free space."""
    path = Path(path)
    code = getattr(err, "errno", None)
    if code is None:
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and written + (1 << 16) >= limit:
            code = errno.EFBIG
        elif shutil.disk_usage(path.parent if path.parent.exists() else Path.cwd()).free < 1 << 20:
            code = errno.ENOSPC
    why = {errno.ENOSPC: "no space left on the device",
           errno.EFBIG: "file too large (a file-size limit: ulimit -f, or the filesystem's)",
           errno.EDQUOT: "disk quota exceeded"}.get(code, f"write failed ({str(err).splitlines()[0][:160]})")
    return InputError(path, why, "free space or raise the limit, then rerun: the previous complete file is kept")
