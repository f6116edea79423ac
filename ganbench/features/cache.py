"""On-disk cache of real-data features and statistics derived from them.

Real-side features depend only on (dataset, split, extractor incl. weights, n, sample seed), yet a
suite evaluates hundreds of checkpoints against them; they are computed once and stored as ``.npz``.
Every entry stores its full key material (JSON) next to the arrays and is checked on load, so a
hash collision, a hand-copied file or a half-written one can never be served as the right numbers;
an entry that does not check out is recomputed. Writes go to a temporary file in the same folder
and are renamed into place (atomic on POSIX), so concurrent workers never read a partial file.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ganbench.atomic import atomic_write
from ganbench.data.base import Dataset, Split
from ganbench.features.base import FeatureExtractor, Features

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the meaning of a cached entry changes; old entries are then ignored
KEY_FIELD = "__key__"  # the array in each .npz holding its key material as JSON
LOAD_CHUNK = 2048  # real samples converted to float per extractor call; bounds memory on large splits
DIGEST_ROWS = 256  # rows of a split hashed into its digest


def default_cache_dir() -> Path:
    """``$GANBENCH_CACHE``, else ``~/.cache/ganbench``."""
    return Path(os.environ.get("GANBENCH_CACHE") or "~/.cache/ganbench").expanduser()


def canonical_json(material: Mapping[str, Any]) -> str:
    """Key material as one canonical string: sorted keys, no spaces, tuples as lists.

    Unknown types are refused rather than ``str()``-ed: a repr with a memory address would give a
    new key every run and the cache would silently never hit.
    """
    return json.dumps(material, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_jsonable)


def stable_hash(material: Mapping[str, Any]) -> str:
    """Hex SHA-256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(material).encode()).hexdigest()


def dataset_identity(dataset: Dataset) -> dict[str, Any]:
    """What names a dataset and its parameters, as :class:`DatasetInfo` stores them."""
    info = dataset.info
    return {"name": info.name, "kind": info.kind, "shape": list(info.shape), "value_range": list(info.value_range),
            "num_classes": info.num_classes, "splits": list(info.splits), "extras": dict(info.extras)}


def split_digest(split: Split, rows: int = DIGEST_ROWS) -> str:
    """SHA-256 over a split's length and ``rows`` evenly spaced samples (and their labels).

    Guards the cache against same-named data that changed (a re-download, another preprocessing)
    without reading a whole 50k-image split on every lookup.
    """
    n = len(split)
    index = torch.linspace(0, max(n - 1, 0), steps=min(rows, n)).round().long().unique()
    digest = hashlib.sha256(f"rows={n}".encode())
    if n:
        digest.update(split.get(index).contiguous().numpy().tobytes())
        if split.labels is not None:
            digest.update(split.labels[index].to(torch.int64).numpy().tobytes())
    return digest.hexdigest()


def cached_array(cache_dir: Path, key_material: Mapping[str, Any],
                 compute: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``compute()``'s arrays, stored under a hash of ``key_material`` and reused while it matches.

    ``key_material`` must name everything the arrays depend on (JSON-able); a ``"kind"`` entry, if
    present, prefixes the file name so the cache folder stays readable.
    """
    text = canonical_json(key_material)
    kind = str(key_material.get("kind", "arrays"))
    path = Path(cache_dir) / "arrays" / f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:32]}.npz"
    stored = _read_entry(path, text)
    if stored is not None:
        return stored
    arrays = {name: np.asarray(value) for name, value in compute().items()}
    if KEY_FIELD in arrays or any(value.dtype == object for value in arrays.values()):
        raise ValueError(f"cached arrays must be numeric and not named {KEY_FIELD!r}")
    atomic_write(path, lambda handle: np.savez(handle, **{KEY_FIELD: np.array(text)}, **arrays))
    return arrays


def _read_entry(path: Path, text: str) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path`` if it holds exactly the key ``text``; None (and a warning) otherwise."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data[KEY_FIELD]) != text:
                log.warning("cache entry %s was written for another key; recomputing", path)
                return None
            return {name: data[name] for name in data.files if name != KEY_FIELD}
    except Exception as exc:  # truncated zip, bad header, missing key field: all mean "recompute"
        log.warning("cache entry %s is unreadable (%s: %s); recomputing", path, type(exc).__name__, exc)
        return None


def real_order(size: int, seed: int = 0) -> torch.Tensor:
    """The seeded permutation of a split's ``size`` samples whose first entries :func:`real_indices` takes; the
    rest are the samples no metric reads (what a calibration floor draws from)."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))


def real_indices(split: Split, n: int, seed: int = 0) -> torch.Tensor:
    """The first ``min(n, len(split))`` entries of a seeded permutation: which real samples are used.

    Public so the evaluator can fetch the very samples whose features are cached.
    """
    if n < 1:
        raise ValueError(f"need at least one real sample, asked for {n}")
    return real_order(len(split), seed)[:n]


def real_key(extractor: FeatureExtractor, dataset: Dataset, split: str, n: int, seed: int = 0) -> dict[str, Any]:
    """The key material of :func:`real_features`' entry; statistics derived from those features
    (e.g. FID's real-side mean and covariance) should put it inside their own key material."""
    data = dataset.split(split)
    used = min(n, len(data))
    return {"kind": "real-features", "version": CACHE_VERSION, "dataset": dataset_identity(dataset),
            "split": split, "split_digest": split_digest(data), "extractor": extractor.identity,
            "pool_layer": extractor.pool_layer, "logits_layer": extractor.logits_layer,
            "n": used, "whole_split": used == len(data), "seed": seed}


def real_features(extractor: FeatureExtractor, dataset: Dataset, split: str, n: int, cache_dir: Path,
                  seed: int = 0) -> Features:
    """Features of ``n`` real samples of ``split`` (seeded choice), computed once per key and cached.

    When the split is smaller than ``n`` the whole split is used; the entry records ``n`` as used
    and ``whole_split: true``, and a warning says so.
    """
    data = dataset.split(split)
    index = real_indices(data, n, seed)
    if len(index) < n:
        log.warning("%s/%s has %d samples, fewer than the %d asked for: using the whole split",
                    dataset.info.name, split, len(index), n)

    def compute() -> dict[str, np.ndarray]:
        parts = [extractor(data.get(index[start:start + LOAD_CHUNK])) for start in range(0, len(index), LOAD_CHUNK)]
        arrays = {"pool": np.concatenate([p.pool for p in parts]), "index": index.numpy()}
        if extractor.logits_layer is not None:
            arrays["logits"] = np.concatenate([p.logits for p in parts])
        return arrays

    arrays = cached_array(cache_dir, real_key(extractor, dataset, split, n, seed), compute)
    return Features(pool=arrays["pool"], logits=arrays.get("logits"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cache key material cannot hold {type(value).__name__}: {value!r}")
