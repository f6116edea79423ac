"""Watching runs live: TensorBoard event files, one folder per run, written at every evaluation point.

``ganbench run SUITE --tensorboard DIR`` (off by default) writes, for each run, under
``DIR/<suite>/<dataset>/<model>/<phase>-s<setting>-seed<seed>-<run_id>``: the losses of the last
training step (``loss/<name>``), every metric (``metric/<key>``), training seconds (``time/train_s``),
and the evaluation's samples — an image grid for image data, a scatter plot for 2-D points. The
results store stays the record; this is a view for people (``tensorboard --logdir DIR``). Scalars
are logged against the training step, so a resumed run continues its curves.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ganbench.errors import GanbenchError

if TYPE_CHECKING:
    import torch

    from ganbench.specs import RunSpec

MISSING = "--tensorboard needs the tensorboard package: pip install 'ganbench[tensorboard]'"
GRID_IMAGES = 64
SCATTER_POINTS = 2000


def require() -> None:
    """Fail before any run starts (exit 2) when TensorBoard cannot be written."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise GanbenchError(MISSING) from None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "_"


def run_log_dir(root: str | Path, spec: RunSpec) -> Path:
    """Folder of one run's event files: readable in TensorBoard's run list, unique by the run id."""
    leaf = f"{_slug(spec.phase)}-s{spec.setting}-seed{spec.seed}-{spec.run_id}"
    return Path(root) / _slug(spec.suite) / _slug(spec.dataset) / _slug(spec.model.name) / leaf


class RunLog:
    """One run's TensorBoard writer; :meth:`evaluation` is called with each new history row."""

    def __init__(self, root: str | Path, spec: RunSpec):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise GanbenchError(MISSING) from None
        self.dir = run_log_dir(root, spec)
        self._writer = SummaryWriter(log_dir=str(self.dir))

    def evaluation(self, row: Mapping[str, Any], samples: torch.Tensor | None) -> None:
        """Scalars of one evaluation point (``history.jsonl`` row) and its samples; flushed at once, so a
        TensorBoard watching the folder sees it now."""
        step = int(row["step"])
        for prefix, values in (("loss", row.get("losses") or {}), ("metric", row.get("metrics") or {})):
            for key, value in values.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._writer.add_scalar(f"{prefix}/{key}", float(value), step)
        if "seconds" in row:
            self._writer.add_scalar("time/train_s", float(row["seconds"]), step)
        if samples is not None:
            self._samples(samples.detach().cpu(), step)
        self._writer.flush()

    def _samples(self, samples: torch.Tensor, step: int) -> None:
        if samples.dim() == 4:
            from torchvision.utils import make_grid

            grid = make_grid(samples[:GRID_IMAGES].clamp(0, 1), nrow=8)
            self._writer.add_image("samples", grid, step)
        elif samples.dim() == 2 and samples.shape[1] == 2:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            points = samples[:SCATTER_POINTS].numpy()
            fig, ax = plt.subplots(figsize=(4, 4))
            ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4)
            ax.set_aspect("equal")
            self._writer.add_figure("samples", fig, step, close=True)

    def close(self) -> None:
        self._writer.close()
