"""Every registry, filled: importing this module imports every module that registers something."""
from __future__ import annotations

from ganbench.registry import Registry


def registries() -> dict[str, Registry]:
    """Section name → registry, in the order ``ganbench ls`` shows them."""
    import ganbench.data as data
    import ganbench.features as features
    import ganbench.metrics as metrics
    import ganbench.nets as nets
    from ganbench.hparams import HPARAMS
    from ganbench.losses import LOSSES
    from ganbench.penalties import PENALTIES

    return {"losses": LOSSES, "penalties": PENALTIES, "architectures": nets.ARCHS, "datasets": data.DATASETS,
            "extractors": features.EXTRACTORS, "metrics": metrics.METRICS, "hparams": HPARAMS}
