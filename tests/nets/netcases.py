"""Dataset descriptions the network tests build nets for (no data is loaded)."""
from __future__ import annotations

from ganbench.data.base import DatasetInfo

RING = DatasetInfo("ring", "vector", (2,), (-1.5, 1.5), num_classes=8)


def image_info(channels: int, side: int, value_range: tuple[float, float] = (0.0, 1.0)) -> DatasetInfo:
    return DatasetInfo(f"img{channels}x{side}", "image", (channels, side, side), value_range)
