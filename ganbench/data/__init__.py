"""Datasets: the registry, its built-in entries, and ``load_dataset`` (validated, memoised).

The built-in datasets are declared in :mod:`ganbench.catalog`: ring, grid, polygons, digits (embedded,
no files needed) and mnist, fashion_mnist, cifar10, celeba, image_folder (read from disk); each
module here is imported when its dataset is first loaded.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, Hashable, Mapping

from ganbench.data.base import DATASETS, BatchSampler, Dataset, DatasetInfo, Split
from ganbench.data.params import merged
from ganbench.data.torchvision_sets import resolve_data_root

__all__ = ["DATASETS", "BatchSampler", "Dataset", "DatasetInfo", "Split", "load_dataset", "resolve_data_root",
           "clear_cache"]

CACHE_SIZE = 4  # the trainer and the evaluator of one run load the same dataset; a few runs interleave
_cache: OrderedDict[Hashable, Dataset] = OrderedDict()


def _freeze(value: Any) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def load_dataset(name: str, params: Mapping[str, Any] | None = None, data_root: str | Path | None = None,
                 download: bool = False) -> Dataset:
    """The dataset ``name`` with ``params`` over its registered defaults, built once per process.

    Unknown names raise the registry's :class:`UnknownNameError`; unknown parameters a
    :class:`GanbenchError` listing the accepted ones. Memoised by (name, params, data root).
    """
    entry = DATASETS.entry(name)
    full = merged(entry.name, params, entry.metadata.get("params", {}))
    root = resolve_data_root(data_root)
    key = (entry.name, _freeze(full), str(root))
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    dataset = entry.obj(full, root, download)
    _cache[key] = dataset
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)
    return dataset


def clear_cache() -> None:
    """Forget memoised datasets (tests, or to free memory between suites)."""
    _cache.clear()
