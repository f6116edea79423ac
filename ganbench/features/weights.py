"""Finding pretrained weights: on local disk first, fetched and verified only when allowed.

torch-fidelity and torch.hub download whatever is missing on first use, unverified (torch-fidelity
checks no hash for Inception). ganbench resolves every extractor's files here, in one fixed order:

1. the extractor option (``weights``; the CLI's ``--inception-weights PATH`` lands there),
2. the environment variable ``GANBENCH_<NAME>_WEIGHTS`` (or the resource's own variable),
3. torch.hub's cache, where torch-fidelity itself would have saved the file
   (``torch.hub.get_dir()/checkpoints/<file name>``, i.e. ``$TORCH_HOME/hub/checkpoints``).

When all three miss a weights *file* and the machine is not offline (``GANBENCH_OFFLINE``, see
:func:`set_offline`), :func:`fetch` downloads it from its published URL into the hub cache: streamed
into a temporary file in the same folder, its SHA-256 checked against the resource's published
digest, then renamed, so the cache never holds a partial or corrupt file under the real name.
Everything else — offline, an unreachable network, a repository (``is_dir``, fetched by git clone,
which stays manual) — raises :class:`MissingResourceError` saying which file, where to put it, and the
URL to fetch it from on a machine that has internet.

What each resource's digest proves is recorded in :attr:`LocalResource.check`: a full published
SHA-256, torch.hub's convention of a SHA-256 *prefix* in the file name (``name-<hex>.ext``, what
``torch.hub.load_state_dict_from_url(check_hash=True)`` verifies), or nothing where none is
published. A digest is never made up: with none published, the file is fetched unverified and its
actual SHA-256 is printed (it is also part of the extractor's ``identity``).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, Mapping
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import torch
from tqdm import tqdm

from ganbench.errors import GanbenchError, MissingResourceError, WeightsDigestError

OFFLINE_ENV = "GANBENCH_OFFLINE"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
TIMEOUT_S = 60.0  # per connect / read: a stalled server fails the run in a minute, not never
CHUNK_BYTES = 1 << 20
PROGRESS_MIN_BYTES = 8 << 20  # a bar for Inception (~92 MB) and CLIP, not for a file that arrives at once
_HEX = re.compile(r"[0-9a-f]{1,64}")

Check = Literal["sha256", "sha256-prefix", "none"]


def hub_hash_prefix(file_name: str) -> str:
    """The SHA-256 prefix torch.hub reads from a file name (``vgg16-397923af.pth`` → ``397923af``).

    Uses torch.hub's own ``HASH_REGEX`` so the semantics are exactly those of ``check_hash=True``;
    ``""`` when the name carries none.
    """
    match = torch.hub.HASH_REGEX.search(file_name)
    return match.group(1) if match else ""


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
    sha256: str = ""  # published hex digest: 64 digits, or torch.hub's prefix from the file name; "" if none

    def __post_init__(self) -> None:
        if self.sha256 and not _HEX.fullmatch(self.sha256):
            raise ValueError(f"{self.file_name}: sha256 must be 1 to 64 lowercase hex digits, got {self.sha256!r}")
        if self.sha256 and self.is_dir:
            raise ValueError(f"{self.file_name}: a repository has no file digest")

    @property
    def check(self) -> Check:
        """What a fetched file is verified against: the full digest, a prefix of it, or nothing."""
        if not self.sha256:
            return "none"
        return "sha256" if len(self.sha256) == 64 else "sha256-prefix"

    @property
    def env(self) -> str:
        return self.env_var or f"GANBENCH_{self.extractor.upper().replace('-', '_')}_WEIGHTS"

    def hub_path(self) -> Path:
        """Where torch.hub (and so torch-fidelity) keeps this resource; read at call time so
        ``TORCH_HOME`` set after import is honoured."""
        return Path(torch.hub.get_dir()) / self.hub_subdir / self.file_name


def set_offline(offline: bool = True) -> None:
    """Forbid (or allow) fetching, for this process and the workers it starts (they inherit the
    environment); what the CLI's ``--offline`` calls."""
    os.environ[OFFLINE_ENV] = "1" if offline else "0"


def is_offline() -> bool:
    """Whether ``GANBENCH_OFFLINE`` forbids the network; a value that is neither yes nor no is an error,
    since guessing would either block a download or make one the user did not want."""
    value = os.environ.get(OFFLINE_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise GanbenchError(f"environment variable {OFFLINE_ENV}={os.environ[OFFLINE_ENV]!r} is not a yes/no "
                        f"value; set it to 1 (never download) or 0 (fetch missing weights)")


def resolve(resource: LocalResource, options: Mapping[str, Any]) -> Path:
    """The local path of ``resource``: option, then environment variable, then the hub cache, then
    (a file, online) a verified fetch into the hub cache.

    A location given explicitly (option or variable) that does not exist is an error, not a reason to
    fall back or fetch: the user meant that file, and silently using another would change the protocol.
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
    return fetch(resource)


def fetch(resource: LocalResource, *, timeout: float = TIMEOUT_S) -> Path:
    """Download ``resource`` into the hub cache and verify it; its path there.

    Raises MissingResourceError when it may not or cannot be fetched (offline, a repository, the
    network or server failing), WeightsDigestError when the bytes are not the published ones. Either
    way nothing is left in the cache.
    """
    missing = f"{resource.what} not found: '{resource.file_name}' is not in {resource.hub_path().parent} " \
              "and no location was given."
    if resource.is_dir:
        raise MissingResourceError(f"{missing} ganbench fetches weights files but not repositories. "
                                   + _how_to_get(resource))
    if is_offline():
        raise MissingResourceError(f"{missing} Offline ({OFFLINE_ENV}=1): ganbench never downloads. "
                                   + _how_to_get(resource))
    dest = resource.hub_path()
    print(f"ganbench: fetching {resource.what} from {resource.url} into {dest}", file=sys.stderr, flush=True)
    tmp = dest.with_name(f"{dest.name}.{uuid.uuid4().hex}.partial")  # same folder: the rename is atomic
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as out:  # not NamedTemporaryFile: its 0600 mode would stick to the weights
            digest = _download(resource, out, timeout)
            out.flush()
            os.fsync(out.fileno())
        _verify(resource, digest)
        os.replace(tmp, dest)
    except (OSError, http.client.HTTPException) as exc:  # URLError, HTTPError, timeouts, refused, DNS, disk
        raise MissingResourceError(f"{missing} Fetching {resource.url} failed: {_reason(exc)}. "
                                   + _how_to_get(resource)) from exc
    finally:
        tmp.unlink(missing_ok=True)
    if resource.check == "none":
        print(f"ganbench: {resource.file_name} has no published digest, so it is not verified; "
              f"its sha256 is {digest}", file=sys.stderr, flush=True)
    return dest


def _download(resource: LocalResource, out: BinaryIO, timeout: float) -> str:
    """Stream ``resource.url`` into ``out``; the hex SHA-256 of what arrived. A body shorter than its
    Content-Length (a dropped connection) is an error, whatever the digest check would say."""
    digest, received = hashlib.sha256(), 0
    with urlopen(Request(resource.url, headers={"User-Agent": "ganbench"}), timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=resource.file_name,
                  file=sys.stderr, disable=total is not None and total < PROGRESS_MIN_BYTES) as bar:
            while block := response.read(CHUNK_BYTES):
                out.write(block)
                digest.update(block)
                received += len(block)
                bar.update(len(block))
    if total is not None and received != total:
        raise http.client.IncompleteRead(b"", total - received)
    return digest.hexdigest()


def _verify(resource: LocalResource, actual: str) -> None:
    if resource.check != "none" and not actual.startswith(resource.sha256):
        kind = "SHA-256" if resource.check == "sha256" else "SHA-256 prefix (from the file name)"
        raise WeightsDigestError(f"{resource.what}: the file fetched from {resource.url} as '{resource.file_name}' "
                                 f"is not the published one: expected {kind} {resource.sha256}, got sha256 "
                                 f"{actual}. It was deleted; run again, or fetch it by hand and compare.",
                                 file_name=resource.file_name, expected=resource.sha256, actual=actual)


def _reason(exc: BaseException) -> str:
    """One line saying why the fetch failed; URLError's own text only wraps the socket error's."""
    if isinstance(exc, HTTPError):
        return f"the server answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, URLError):
        return _reason(exc.reason) if isinstance(exc.reason, BaseException) else str(exc.reason)
    if isinstance(exc, http.client.IncompleteRead):
        return f"the connection closed {exc.expected} bytes before the end of the file"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
    return (f"On a machine with internet, {action}; then put it at {resource.hub_path()}, "
            f"or {', or '.join(pointers)}.")
