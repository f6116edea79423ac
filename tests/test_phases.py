"""best_of: the setting a seed phase retrains is the source phase's best checkpoint, as compare_gan v1.0."""
from ganbench.phases import best_lookup
from ganbench.results.record import RunRecord
from ganbench.results.store import Store
from ganbench.expand import expand
from ganbench.suite import parse

SUITE = {"name": "p", "datasets": [{"name": "ring"}],
         "models": [{"name": "NS GAN", "loss": "ns", "arch": "mlp"}],
         "hparams": {"lr": {"loguniform": [1e-5, 1e-2]}},
         "budget": {"steps": 20, "eval_every": 10},
         "evaluation": {"metrics": ["knn"], "n_gen": 100, "n_real": 100},
         "phases": [{"name": "wide", "samples": 4, "seeds": [0]},
                    {"name": "seeds", "best_of": {"phase": "wide", "metric": "knn"}, "seeds": 3}]}


def test_best_of_takes_a_run_that_diverged_after_its_best_checkpoint(tmp_path):
    """BestFIDPerModel takes the min over all checkpoint rows: the diverged run with the best knn wins.
    Fails when only "done" runs are candidates (revision 1 of this rule); a failed run never is."""
    spec = parse(SUITE)
    wide = expand(spec).runs
    store = Store(tmp_path)
    outcomes = [("done", 0.80), ("diverged", 0.55), ("done", 0.70), ("failed", None)]
    for run, (status, knn) in zip(wide, outcomes):
        store.begin(run)
        store.write_record(RunRecord(run_id=run.run_id, suite=run.suite, phase=run.phase, spec=run.to_dict(),
                                     status=status, best={} if knn is None else {"knn": knn},
                                     directions={"knn": False}))
    chosen = best_lookup(store, "p")("wide", "ring", "NS GAN", "knn")
    assert chosen == wide[1].to_dict()["hparams"]
    seeds = [r for r in expand(spec, best_lookup(store, "p")).runs if r.phase == "seeds"]
    assert len(seeds) == 3 and all(dict(r.hparams) == dict(wide[1].hparams) for r in seeds)
