"""The one interface every dataset offers, whatever its source.

A dataset is built by a registered factory ``factory(params, data_root, download) -> Dataset``.
Images are float32 in ``info.value_range`` (``(0.0, 1.0)`` for every image dataset, as in the
study's sigmoid generators) with shape ``(C, H, W)``; vector data (2D mixtures) has shape ``(D,)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import torch

from ganbench.catalog import DATASETS  # noqa: F401  (declared there; re-exported)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str  # "image" or "vector"
    shape: tuple[int, ...]  # (C, H, W) for images, (D,) for vectors
    value_range: tuple[float, float]
    num_classes: int | None = None
    splits: tuple[str, ...] = ("train", "test")
    # Extra facts metrics need, e.g. {"centres": [[x, y], ...], "sigma": 0.01} for mixtures.
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resolution(self) -> int | None:
        return self.shape[-1] if self.kind == "image" else None

    @property
    def channels(self) -> int | None:
        return self.shape[0] if self.kind == "image" else None


class Split:
    """One split held in memory: stored compactly (e.g. uint8) and converted per batch."""

    def __init__(self, data: torch.Tensor, labels: torch.Tensor | None = None, scale: float = 1.0,
                 offset: float = 0.0):
        if labels is not None and len(labels) != len(data):
            raise ValueError("labels and data differ in length")
        self.data, self.labels, self.scale, self.offset = data, labels, scale, offset

    def __len__(self) -> int:
        return len(self.data)

    def get(self, index: torch.Tensor | slice) -> torch.Tensor:
        """Rows ``index`` as float32 in the dataset's value range."""
        return self.data[index].to(torch.float32) * self.scale + self.offset

    def all(self) -> torch.Tensor:
        return self.get(slice(None))


class Dataset:
    """Splits plus the facts about them; subclasses fill ``_splits`` lazily or eagerly."""

    def __init__(self, info: DatasetInfo, splits: Mapping[str, Split | Callable[[], Split]]):
        self.info = info
        self._splits = dict(splits)

    def split(self, name: str) -> Split:
        if name not in self._splits:
            from ganbench.errors import GanbenchError

            raise GanbenchError(f"dataset '{self.info.name}' has no split '{name}' "
                                f"(it has: {', '.join(self._splits)})")
        value = self._splits[name]
        if not isinstance(value, Split):
            value = self._splits[name] = value()
        return value


class BatchSampler:
    """Shuffled epochs without replacement, driven by its own generator so a run resumes exactly."""

    def __init__(self, size: int, batch_size: int, seed: int):
        if size < 1:
            raise ValueError("cannot sample from an empty split")
        self.size, self.batch_size = size, batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(size, generator=self.generator)
        self.pos = 0

    def next_index(self) -> torch.Tensor:
        parts, need = [], self.batch_size
        while need:
            if self.pos >= self.size:
                self.perm = torch.randperm(self.size, generator=self.generator)
                self.pos = 0
            take = self.perm[self.pos:self.pos + need]
            parts.append(take)
            self.pos += len(take)
            need -= len(take)
        return torch.cat(parts)

    def __iter__(self) -> Iterator[torch.Tensor]:
        while True:
            yield self.next_index()

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "perm": self.perm.clone(), "pos": self.pos}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.perm, self.pos = state["perm"].clone(), int(state["pos"])


DatasetFactory = Callable[[Mapping[str, Any], "Path | None", bool], Dataset]
