"""The progress line of ``ganbench run``: which phase runs, what comes after it, and how long is left."""
from __future__ import annotations

from ganbench.expand import expand
from ganbench.suite import parse
from ganbench.suite_runner import batch_label, time_left

SUITE = {"name": "t", "datasets": [{"name": "ring"}], "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}],
         "budget": {"steps": 20, "eval_every": 10}, "evaluation": {"metrics": ["modes"], "n_gen": 100, "n_real": 100},
         "phases": [{"name": "wide", "samples": 1, "seeds": [0]},
                    {"name": "seeds", "best_of": {"phase": "wide"}, "seeds": [1, 2, 3]}]}


def test_batch_label_names_the_phase_running():
    expansion = expand(parse(SUITE))
    assert batch_label("t", list(expansion.runs)) == "t · phases wide, calibration"  # the real data's rows too
    assert [p.runs for p in expansion.pending] == [3]


def test_time_left_counts_the_phases_still_to_come_at_the_pace_so_far():
    # 4 runs took 40 s: 2 left in this batch and 30 waiting → 32 × 10 s
    assert time_left(4, 40.0, 2, {"seeds": 30}) == ", then 30 runs of seeds; ≈ 5 min left in all"
    assert time_left(1, 3.0, 1, {"seeds": 5, "narrow": 4}) == \
        ", then 5 runs of seeds, 4 runs of narrow; ≈ 30 s left in all"
    assert time_left(0, 0.0, 6, {"seeds": 5}) == ", then 5 runs of seeds"  # no pace yet: no guess
    assert time_left(3, 30.0, 3, {}) == ""  # the last batch: tqdm's own estimate says it
    assert time_left(1, 3600.0, 10, {"seeds": 90}) == ", then 90 runs of seeds; ≈ 100.0 h left in all"
