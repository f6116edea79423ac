"""Finding pretrained weights on local disk — never on the network.

torch-fidelity and torch.hub download whatever is missing on first use. ganbench runs on machines
and CI without internet, and a download in the middle of an evaluation is a silent change of
protocol, so every extractor resolves its files here, in one fixed order:

1. the extractor option (``weights``; the CLI's ``--inception-weights PATH`` lands there),
2. the environment variable ``GANBENCH_<NAME>_WEIGHTS`` (or the resource's own variable),
3. torch.hub's cache, where torch-fidelity itself would have saved the file
   (``torch.hub.get_dir()/checkpoints/<file name>``, i.e. ``$TORCH_HOME/hub/checkpoints``).

When all three miss, :class:`MissingResourceError` says which file, where to put it, and the URL to
fetch it from on a machine that has internet.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from ganbench.errors import GanbenchError, MissingResourceError


@dataclass(frozen=True)
class LocalResource:
    """A file (weights) or folder (hub repository code) that an extractor needs from local disk."""

    extractor: str  # ganbench extractor name, e.g. "inception"
    what: str  # human description, e.g. "Inception-v3 weights (torch-fidelity 'inception-v3-compat')"
    file_name: str  # the name torch-fidelity / torch.hub gives it in the hub cache
    url: str  # where torch-fidelity / torch.hub would fetch it from
    option: str = "weights"  # extractor option that overrides the location
    env_var: str = ""  # defaults to GANBENCH_<EXTRACTOR>_WEIGHTS
    hub_subdir: str = "checkpoints"  # "" for repositories, which torch.hub keeps at the hub root
    flag: str | None = None  # CLI flag that fills the option, if there is one
    is_dir: bool = False  # a repository: fetched with git clone rather than downloaded

    @property
    def env(self) -> str:
        return self.env_var or f"GANBENCH_{self.extractor.upper().replace('-', '_')}_WEIGHTS"

    def hub_path(self) -> Path:
        """Where torch.hub (and so torch-fidelity) keeps this resource; read at call time so
        ``TORCH_HOME`` set after import is honoured."""
        return Path(torch.hub.get_dir()) / self.hub_subdir / self.file_name


def resolve(resource: LocalResource, options: Mapping[str, Any]) -> Path:
    """The local path of ``resource``: option, then environment variable, then the hub cache.

    A location given explicitly (option or variable) that does not exist is an error, not a reason to
    fall back: the user meant that file, and silently using another would change the protocol.
    """
    explicit = [(f"extractor option '{resource.option}'" + (f" ({resource.flag})" if resource.flag else ""),
                 options.get(resource.option)),
                (f"environment variable {resource.env}", os.environ.get(resource.env))]
    for source, value in explicit:
        if value:
            path = Path(str(value)).expanduser()
            if not _present(path, resource.is_dir):
                raise MissingResourceError(f"{resource.what}: {source} points at {path}, which "
                                           f"{'is not a folder' if resource.is_dir else 'is not a file'}. "
                                           + _how_to_get(resource))
            return path
    path = resource.hub_path()
    if _present(path, resource.is_dir):
        return path
    raise MissingResourceError(f"{resource.what} not found: '{resource.file_name}' is not in "
                               f"{path.parent} and no location was given. " + _how_to_get(resource))


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes: the weights' part of an extractor's ``identity``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state_dict_safely(path: Path, what: str) -> dict[str, torch.Tensor]:
    """Load a state dict with ``weights_only=True``; a file that is not one is a user error.

    torch-fidelity loads weights with ``weights_only=False`` (arbitrary pickle). Loading the same
    bytes here first, restricted to tensors, proves the file holds nothing else before it does, and
    turns a truncated or wrong file (an HTML page saved as .pth) into a message naming the file.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, ... by cause
        raise GanbenchError(f"{what}: cannot read {path} as a PyTorch weights file "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                            "re-fetch it") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GanbenchError(f"{what}: {path} is not a state dict of tensors; re-fetch it")
    return dict(state)


def _present(path: Path, is_dir: bool) -> bool:
    return path.is_dir() if is_dir else path.is_file()


def _how_to_get(resource: LocalResource) -> str:
    pointers = [f"set {resource.env}=PATH", f"pass the extractor option '{resource.option}: PATH'"]
    if resource.flag:
        pointers.insert(0, f"pass {resource.flag} PATH")
    if resource.is_dir:
        action = f"run 'git clone {resource.url} {resource.file_name}'"
    else:
        action = f"download {resource.url}"
    return (f"ganbench never downloads at run time. On a machine with internet, {action}; then put it "
            f"at {resource.hub_path()}, or {', or '.join(pointers)}.")
