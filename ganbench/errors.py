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
