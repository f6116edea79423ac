"""User-facing errors: the CLI prints their message and exits with code 2, no traceback."""
from __future__ import annotations


class GanbenchError(Exception):
    """Bad input a user can fix (a malformed suite, an unknown name, missing data or weights)."""

    exit_code = 2


class SpecError(GanbenchError):
    """A suite field is invalid; the message starts with the field's YAML path."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}" if path else message)


class SpecErrors(SpecError):
    """Several suite fields are invalid: a count line, then one ``path: detail`` line per problem in
    document order (as a compiler lists them). A SpecError still, so ``path`` is the first problem's."""

    def __init__(self, problems: list[SpecError], source: str = ""):
        self.problems, self.source = list(problems), source
        self.path, self.detail = problems[0].path, problems[0].detail
        where = f" in {source}" if source else ""
        GanbenchError.__init__(self, "\n".join([f"{len(problems)} problems{where}:", *(f"  {p}" for p in problems)]))


class UnknownNameError(GanbenchError, KeyError):
    """A name is not in a registry; the message suggests the closest registered names."""

    def __init__(self, kind: str, name: str, suggestions: list[str], known: list[str]):
        self.kind, self.name, self.suggestions, self.known = kind, name, suggestions, known
        if suggestions:
            hint = " or ".join(f"'{s}'" for s in suggestions)
            text = f"unknown {kind} '{name}' — did you mean {hint}?"
        else:
            text = f"unknown {kind} '{name}' — known: {', '.join(known) or '(none)'}"
        GanbenchError.__init__(self, text)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class MissingResourceError(GanbenchError):
    """A dataset file or model weights are absent; the message says what to put where."""


class WeightsDigestError(GanbenchError):
    """A fetched weights file is not the published one (its SHA-256 differs); it has been deleted."""

    def __init__(self, message: str, file_name: str = "", expected: str = "", actual: str = ""):
        self.file_name, self.expected, self.actual = file_name, expected, actual
        super().__init__(message)

    def __reduce__(self):  # keeps the fields when a worker process sends the error back
        return type(self), (self.args[0], self.file_name, self.expected, self.actual)
