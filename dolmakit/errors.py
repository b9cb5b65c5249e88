"""Errors a user can cause and fix; the CLI prints them without a traceback."""

from __future__ import annotations


class DolmakitError(Exception):
    """Report a problem the user can fix; its message is shown as is, with no traceback."""


class InputError(DolmakitError):
    """Report a bad input line or file: its path, line (1-based; 0: the whole file), problem."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, int, str]]:
        return (InputError, (self.path, self.line, self.problem))


class ConfigError(DolmakitError):
    """Report an invalid configuration: names the file, line and field when known."""


class StorageError(DolmakitError):
    """Report a file or object that cannot be reached: names the path or URI and the cause."""
