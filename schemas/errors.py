"""The one error a person gets for bad input: which file, which line, what is wrong and what to do about it."""

from pathlib import Path


class InputError(Exception):
    """Bad input found before any work is spent on it; printed as one line by the CLI."""

    def __init__(self, path: Path | str, line: int | None, problem: str, fix: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.problem}; {self.fix}"


class BudgetExceeded(RuntimeError):
    """A model call that would cross a budget was not made; printed as one line by the CLI. The render stops with
    every finished take kept (`aigms.production.generate.costs`)."""
