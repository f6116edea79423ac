"""Which metric ranks a dataset: declared by the dataset, recorded by the run, overridden by the reader."""
from __future__ import annotations

import pytest

from ganbench.catalog import DATASETS
from ganbench.results import frame
from ganbench.results.headline import FALLBACK_ORDER, choose_headline, frame_headlines
from ganbench.results.study import headline_scores, pairwise_tests
from helpers.records import make_record


def test_every_dataset_declares_a_headline_of_its_kind():
    """Mixtures rank by mode coverage, polygons by F1 against their manifold, the warped ring's translations by
    their L1 to the truth, every image set (and image pair) by FID."""
    declared = {entry.name: entry.metadata.get("headline") for entry in DATASETS}
    assert declared.pop("ring") == declared.pop("grid") == "mode_tv"
    assert declared.pop("ring_warp") == "l1"
    assert declared.pop("polygons") == "polygon_f1"
    assert set(declared.values()) == {"fid"}, declared


@pytest.mark.parametrize("declared, computed, expected", [
    ("mode_tv", ["modes", "hq_share", "modes_1pct", "mode_tv", "knn"], "mode_tv"),  # declared and computed
    ("mode_tv", ["modes", "modes_1pct", "knn"], "modes_1pct"),  # a record from before mode_tv
    ("mode_tv", ["knn", "knn_real", "hq_share"], "knn"),  # not computed: knn comes before hq_share
    ("fid", ["is_mean", "kid_mean", "is_std"], "kid_mean"),
    (None, ["mystery", "other"], "mystery"),  # nothing known: the first computed
    ("fid", [], None),
])
def test_choose_headline(declared, computed, expected):
    assert choose_headline(declared, computed) == expected


def test_fallback_order_names_only_metrics_the_registry_knows():
    from ganbench.catalog import METRICS

    outputs = {key for entry in METRICS for key in entry.metadata["outputs"]}
    assert set(FALLBACK_ORDER) <= outputs


def _records(**kwargs):
    ring = [make_record(dataset="ring", model=m, setting=s, history=[(100, {"mode_tv": 0.1 + 0.1 * s, "fid": 1.0 + s,
                                                                           "knn": 0.6})], **kwargs)
            for m in ("NS GAN", "WGAN") for s in range(2)]
    polygons = [make_record(dataset="polygons", model=m, setting=s,
                            history=[(100, {"polygon_f1": 0.5 + 0.1 * s, "knn": 0.9})], **kwargs)
                for m in ("NS GAN", "WGAN") for s in range(2)]
    failed = [make_record(dataset="digits", model="NS GAN", status="failed", error="boom")]
    return ring + polygons + failed


def test_frame_headlines_declared_recorded_and_overridden():
    df = frame.records_to_frame(_records())
    # records older than headlines: the registry's declaration; digits (only a failed run) is left out
    assert frame_headlines(df) == {"polygons": "polygon_f1", "ring": "mode_tv"}
    # --metric knn: every dataset computed it
    assert frame_headlines(df, override="knn") == {"polygons": "knn", "ring": "knn"}
    # --metric fid: only the ring has it; the polygons keep their own
    assert frame_headlines(df, override="fid") == {"polygons": "polygon_f1", "ring": "fid"}
    # what the runs recorded wins over the registry (a suite's evaluation.headline)
    recorded = frame.records_to_frame(_records(headline="knn"))
    assert frame_headlines(recorded) == {"polygons": "knn", "ring": "knn"}


def test_headline_scores_rank_each_dataset_by_its_own_metric_and_direction():
    """The ring is scored by its mode TV distance (lower is better) and the polygons by F1 (higher is better);
    the pairwise tests carry each dataset's metric and direction."""
    df = frame.records_to_frame(_records())
    scores = headline_scores(df, frame_headlines(df))
    ring = scores[scores["dataset"] == "ring"]
    assert set(ring["metric"]) == {"mode_tv"} and not ring["higher_is_better"].any()
    assert sorted(ring["score"]) == pytest.approx([0.1, 0.1, 0.2, 0.2])
    polygons = scores[scores["dataset"] == "polygons"]
    assert set(polygons["metric"]) == {"polygon_f1"} and polygons["score"].notna().all()
    assert "digits" not in set(scores["dataset"].astype(str))
    pairs = pairwise_tests(scores, n_boot=50)
    assert dict(zip(pairs["dataset"], pairs["metric"])) == {"polygons": "polygon_f1", "ring": "mode_tv"}
    ring_pair = pairs[pairs["dataset"] == "ring"].iloc[0]
    assert ring_pair["emin_a"] == ring_pair["emin_b"] == pytest.approx(0.1 + 0.025)  # E[min of 2 draws of {.1, .2}]
    polygon_pair = pairs[pairs["dataset"] == "polygons"].iloc[0]
    assert polygon_pair["emin_a"] == pytest.approx(0.6 - 0.025)  # E[max of 2 draws of {.5, .6}]
