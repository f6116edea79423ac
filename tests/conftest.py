"""Shared test setup: one torch thread per test process (CPU numbers are then reproducible and the
2-core machine is not oversubscribed), a private feature cache per session, and no weights download
(GANBENCH_OFFLINE=1, inherited by the CLI subprocesses; tests that fetch from a local server lift it)."""
import os

import pytest
import torch

torch.set_num_threads(1)
os.environ["GANBENCH_OFFLINE"] = "1"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    old = os.environ.get("GANBENCH_CACHE")
    os.environ["GANBENCH_CACHE"] = str(tmp_path_factory.mktemp("ganbench-cache"))
    yield
    if old is None:
        os.environ.pop("GANBENCH_CACHE", None)
    else:
        os.environ["GANBENCH_CACHE"] = old
