"""The suites that ship inside the package, so a wheel installed anywhere can run them by name.

``ganbench run default`` finds ``default.yaml`` here; a path (``suites/default.yaml``, ``my.yaml``) is
used as it is. In a checkout, ``suites/`` at the repository root links here. Plain Python: no torch.
"""
from __future__ import annotations

from pathlib import Path

from ganbench.errors import GanbenchError
from ganbench.registry import did_you_mean

SHIPPED_DIR = Path(__file__).resolve().parent


def shipped() -> dict[str, Path]:
    """Name (the file's stem) → path of every shipped suite, sorted by name."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.yaml"))}


def description(path: Path) -> str:
    """The suite's ``description`` line, read without validating the suite."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ""
    return str(doc.get("description", "")) if isinstance(doc, dict) else ""


def resolve(suite: str | Path) -> Path:
    """The file a suite argument names: an existing path, else a shipped suite's name.

    A bare word that is neither (``ganbench run defualt``) is an error that lists the shipped suites and
    suggests the closest; anything that looks like a path is returned as it is, so the loader can say
    which file is missing.
    """
    path = Path(suite)
    if path.exists():
        return path
    text = str(suite)
    names = shipped()
    if text in names:
        return names[text]
    if path.suffix or len(path.parts) != 1:
        return path
    raise GanbenchError(f"'{text}' is neither a suite file nor a shipped suite{did_you_mean(text, names)} "
                        f"(shipped: {', '.join(names)}; or give a path to a YAML file)")
