"""The ``ganbench`` command: parses arguments and calls the library; holds no logic of its own."""
from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

import typer

from ganbench.errors import GanbenchError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Train and evaluate GAN variants under one protocol, and compare them fairly.\n\n"
         "Typical session: `ganbench plan default` (what the shipped default suite will run), `ganbench run default` "
         "(train + evaluate, resumable; or any suite YAML file), `ganbench report results/default` (tables, figures, "
         "index.html).")

RESULTS = typer.Option(Path("results"), "--results", help="Results root; each suite writes results/<suite>/<run_id>/.")
WORKERS = typer.Option("auto", "--workers", "-w",
                       help="Parallel runs: 'auto' (one per CPU core ÷ --threads, or one per GPU × --runs-per-gpu), "
                            "or a number. Ignored with --executor ray: the cluster's resources decide.")
OFFLINE = typer.Option(False, "--offline", help="Never fetch a missing weights file (else it is downloaded from "
                                                "its published URL and its SHA-256 checked); same as GANBENCH_OFFLINE=1.")
SUITE_HELP = ("Suite: a YAML file, or the name of a shipped suite (`ganbench ls suites`: default, conditional, zoo, "
              "ci, lucic, ...).")
THREADS = typer.Option(None, "--threads", min=1,
                       help="torch threads per run. Default on CPU: 1 (the study's small nets run fastest as many "
                            "1-thread runs, and a multi-thread run stalls when another process is busy); on a GPU: "
                            "an equal share of the cores.")


def _suite(path: Path, steps: Optional[int] = None):
    from ganbench.expand import with_overrides
    from ganbench.suite import load
    from ganbench.suites import resolve

    return with_overrides(load(resolve(path)), steps)


def _offline(offline: bool) -> None:
    """--offline: forbid fetching weights in this process and the workers it starts (they inherit it)."""
    if offline:
        from ganbench.features.weights import set_offline

        set_offline()


def _baseline_file(path: Path) -> Path:
    """A baseline path as given, else the shipped file of that name (``--baseline ci-baseline.json``)."""
    from ganbench.suites import SHIPPED_DIR

    shipped = SHIPPED_DIR / path.name
    return shipped if not path.exists() and len(path.parts) == 1 and shipped.is_file() else path


def _store(results: Path):
    from ganbench.results.store import Store

    return Store(results)


def _expand(spec, store):
    from ganbench.phases import best_lookup
    from ganbench.expand import expand

    return expand(spec, best_lookup(store, spec.name))


@app.command()
def plan(suite: Path = typer.Argument(..., help=SUITE_HELP),
         as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
         results: Path = RESULTS) -> None:
    """Show the grid a suite expands to — runs per dataset × model, total, training steps — without running it."""
    from ganbench.planning import plan_table

    spec = _suite(suite)
    table = plan_table(spec, _expand(spec, _store(results)))
    if as_json:
        typer.echo(json.dumps(table, indent=1))
        return
    from ganbench.planning import format_plan

    typer.echo(format_plan(table))


@app.command()
def run(suite: Path = typer.Argument(..., help=SUITE_HELP),
        results: Path = RESULTS,
        workers: str = WORKERS,
        threads: Optional[int] = THREADS,
        device: str = typer.Option("auto", help="cpu, cuda, or auto (cuda when present)."),
        executor: str = typer.Option("local", help="local, or ray (a Ray cluster; pip install 'ganbench\\[ray]'; --results must be "
                                     "on a filesystem every node shares)."),
        address: Optional[str] = typer.Option(None, help="Ray address (auto, or ray://host:port); default: start locally."),
        steps: Optional[int] = typer.Option(None, help="Override every dataset's step budget (smoke tests)."),
        data_root: Optional[Path] = typer.Option(None, help="Where real datasets live (else GANBENCH_DATA_ROOT)."),
        download: bool = typer.Option(False, help="Allow torchvision to download missing datasets."),
        inception_weights: Optional[Path] = typer.Option(None, help="Inception-v3 weights file for IS/FID/KID."),
        offline: bool = OFFLINE,
        cache_dir: Optional[Path] = typer.Option(None, help="Feature/weights cache (else GANBENCH_CACHE, ~/.cache/ganbench)."),
        retry_failed: bool = typer.Option(False, help="Attempt failed runs again."),
        keep_checkpoints: bool = typer.Option(False, "--keep-checkpoints",
                                              help="Keep a finished run's resumable training checkpoint (ckpt.pt: G, D "
                                                   "and both optimizers); by default only G's weights stay."),
        report: bool = typer.Option(False, help="Build the report when the grid is finished."),
        tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", metavar="DIR",
                                                   help="Also write TensorBoard event files per run under DIR "
                                                        "(losses, metrics and samples at each evaluation; "
                                                        "watch with `tensorboard --logdir DIR`)."),
        runs_per_gpu: int = typer.Option(1, help="Runs sharing each GPU (local --workers auto, or Ray)."),
        ensemble: Optional[str] = typer.Option(None, "--ensemble", metavar="K|auto",
                                               help="Train runs that differ only in seed, lr, beta1, beta2, lambda "
                                                    "and clip as one model of up to K members ('auto': up to 16, "
                                                    "split so every worker has one, and on a CPU only the MLP: "
                                                    "grouped convolutions cost more than their members' there); "
                                                    "each member is recorded as "
                                                    "an ordinary run, its compute noting the ensemble. Runs the "
                                                    "ensemble trainer cannot take (VAE, conditioning, "
                                                    "augmentation, BEGAN, schedules, spectral norm, ...) train "
                                                    "alone. See docs/ensembles.md."),
        ) -> None:
    """Train and evaluate every run of SUITE not yet done. Safe to interrupt: re-running resumes.

    Finished runs are skipped, partial ones resume from their last checkpoint, a diverged (NaN/inf) or
    failing run is recorded and the grid goes on. Phases that retrain the best setting (best_of) start
    once their source phase has results.
    """
    from ganbench.suite_runner import run_suite

    if inception_weights:
        os.environ["GANBENCH_INCEPTION_WEIGHTS"] = str(inception_weights)
    _offline(offline)
    if tensorboard:
        from ganbench.tensorboard import require

        require()
    from ganbench.ensemble.plan import parse_ensemble

    members = parse_ensemble(ensemble)
    spec = _suite(suite, steps)
    counts = run_suite(spec, _store(results), workers=workers, device=device, executor=executor, address=address,
                       data_root=str(data_root) if data_root else spec.data_root, download=download or spec.download,
                       cache_dir=str(cache_dir) if cache_dir else None, retry_failed=retry_failed,
                       keep_checkpoints=keep_checkpoints, runs_per_gpu=runs_per_gpu, threads=threads,
                       tensorboard=str(tensorboard) if tensorboard else None, ensemble=members)
    typer.echo("finished: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) if counts else "nothing to run")
    if report:
        _report(results / spec.name, Path("reports") / spec.name, None, [], [])


@app.command()
def status(target: Path = typer.Argument(..., help="A suite (YAML file or shipped name), or a results directory."),
           results: Path = RESULTS) -> None:
    """Counts of done / running / diverged / failed / pending runs, and why the failed ones failed."""
    from ganbench.suite_runner import dir_status, suite_status
    from ganbench.results.record import STATUSES

    if target.suffix in (".yaml", ".yml") or not target.exists():
        spec = _suite(target)
        rows = suite_status(spec, _store(results), _expand(spec, _store(results)))
    else:
        rows = dir_status(target)
    counts = Counter(r["status"] for r in rows)
    typer.echo(f"{len(rows)} runs: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES))
    for r in rows:
        if r["status"] != "done" and r.get("why"):
            typer.echo(f"  {r['status']:8s} {r['run_id']}  {r['label']}: {r['why']}")


@app.command("ls")
def ls(section: Optional[str] = typer.Argument(None, help="One of: kinds, conditioning, augment, losses, "
                                                          "penalties, architectures, datasets, extractors, metrics, "
                                                          "hparams, suites.")) -> None:
    """What is registered: model kinds (GAN, VAE), conditioning (CGAN, AC-GAN, projection, InfoGAN), losses,
    penalties, architectures, datasets, feature extractors, metrics, hyperparameters, and the shipped suites."""
    from ganbench.catalog import registries

    if section in ("suites", "suite"):
        _list_suites()
        return
    regs = registries()
    if section is not None:
        aliases = {"kind": "kinds", "models": "kinds", "archs": "architectures", "arch": "architectures",
                   "conditionings": "conditioning", "cond": "conditioning", "augmentation": "augment",
                   "augmentations": "augment",
                   "loss": "losses", "dataset": "datasets",
                   "metric": "metrics", "extractor": "extractors", "penalty": "penalties", "hparam": "hparams"}
        key = aliases.get(section, section)
        if key not in regs:
            from ganbench.registry import did_you_mean

            raise GanbenchError(f"unknown section '{section}'" +
                                (did_you_mean(section, regs) or f" (sections: {', '.join(regs)})"))
        regs = {key: regs[key]}
    for title, registry in regs.items():
        typer.echo(f"{title}:")
        for entry in registry:
            headline = entry.metadata.get("headline") if title == "datasets" else None
            typer.echo(f"  {entry.name:16s} {entry.doc}" + (f" [headline: {headline}]" if headline else ""))
        typer.echo("")
    if section is None:
        _list_suites()


def _list_suites() -> None:
    from ganbench.suites import description, shipped

    typer.echo("suites:")
    for name, path in shipped().items():
        typer.echo(f"  {name:16s} {description(path)}")
    typer.echo("")


@app.command()
def report(results_dir: Path = typer.Argument(Path("results"), help="Results of one run, one suite, or several suites."),
           out: Optional[Path] = typer.Option(None, help="Output folder (default reports/<name of RESULTS_DIR>)."),
           metric: Optional[str] = typer.Option(None, help="Rank every dataset that computed it by this metric key "
                                                "(fid, knn, modes_1pct, …) instead of its headline (mode_tv for "
                                                "mixtures, polygon_f1 for polygons, fid for images)."),
           dataset: List[str] = typer.Option([], help="Only these datasets (repeatable)."),
           model: List[str] = typer.Option([], help="Only these models (repeatable)."),
           reference: str = typer.Option("lucic2018", help="Published numbers to show beside yours: lucic2018 "
                                         "(shipped), a CSV with model,dataset,fid_mean,fid_std,source, or none."),
           ) -> None:
    """Tables (CSV, Markdown, LaTeX), figures (PNG, PDF) and a self-contained index.html from stored runs.

    Models and datasets named as in the study (e.g. "NS GAN" on mnist) get the published FID beside theirs.
    """
    _report(results_dir, out or Path("reports") / results_dir.resolve().name, metric, dataset, model, reference)


def _report(results_dir: Path, out: Path, metric: str | None, datasets: list[str], models: list[str],
            reference: str = "lucic2018") -> None:
    from ganbench.report import build
    from ganbench.results.frame import load_results

    if not results_dir.exists():
        raise GanbenchError(f"{results_dir}: no such results directory (run `ganbench run SUITE` first)")
    df = load_results(results_dir)
    if df.empty:
        raise GanbenchError(f"{results_dir}: no stored runs found")
    if reference not in ("none", "lucic2018") and not Path(reference).is_file():
        raise GanbenchError(f"--reference: '{reference}' is neither lucic2018, none, nor a CSV file")
    index = build(df, out, title=results_dir.resolve().name, metric=metric, datasets=datasets or None,
                  models=models or None, reference=None if reference == "none" else reference)
    typer.echo(f"report: {index}")


@app.command()
def preview(dataset: str = typer.Argument(..., help="A registered dataset (see `ganbench ls datasets`)."),
            out: Path = typer.Option(None, help="PNG to write (default preview-<dataset>.png)."),
            param: List[str] = typer.Option([], help="Dataset parameter as key=value (repeatable), e.g. size=32."),
            data_root: Optional[Path] = typer.Option(None, help="Where real datasets live."),
            download: bool = typer.Option(False, help="Allow torchvision to download a missing dataset."),
            n: int = typer.Option(64, help="How many samples to show.")) -> None:
    """Look at real samples (and, for 2D data, the mode centres) before spending compute."""
    import yaml

    from ganbench.preview import preview as make_preview

    params = {}
    for item in param:
        if "=" not in item:
            raise GanbenchError(f"--param {item!r}: expected key=value")
        key, value = item.split("=", 1)
        params[key] = yaml.safe_load(value)
    path = make_preview(dataset, params, out or Path(f"preview-{dataset}.png"), data_root=data_root,
                        download=download, n=n)
    typer.echo(f"wrote {path}")


UNTRAINED_DIR = ".untrained"  # under --results: the suite trained for one step (never reported with the rest)


def _untrained(spec, results: Path, workers: str, device: str, threads: Optional[int] = None):
    """The suite trained for one step, stored under ``results/.untrained``: the aggregate an untrained
    generator reaches, per (dataset, model, metric). Resumable like any run."""
    import pandas as pd

    from ganbench.check import aggregate
    from ganbench.suite_runner import run_suite
    from ganbench.expand import with_overrides
    from ganbench.results.frame import load_results

    one_step = with_overrides(spec, steps=1)
    run_suite(one_step, _store(results / UNTRAINED_DIR), workers=workers, device=device, data_root=spec.data_root,
              download=spec.download, threads=threads)
    suite_dir = results / UNTRAINED_DIR / spec.name
    df = load_results(suite_dir) if suite_dir.exists() else pd.DataFrame(columns=["metric"])
    return df, aggregate(df)


def _dataset_infos(spec) -> dict:
    """Dataset name → DatasetInfo of the suite's datasets (a metric's range may depend on it)."""
    from ganbench.data import load_dataset

    return {d.name: load_dataset(d.name, dict(d.params), data_root=spec.data_root, download=spec.download).info
            for d in spec.datasets}


@app.command()
def baseline(suite: Path = typer.Argument(..., help="Suite (YAML file or shipped name) whose results define the "
                                                   "baseline."),
             out: Path = typer.Option(..., help="Baseline JSON to write (commit it next to the suite)."),
             results: Path = RESULTS,
             z: float = typer.Option(2.0, help="Tolerance in standard deviations over runs (seeds)."),
             rel: float = typer.Option(0.10, help="Minimum tolerance as a fraction of the value."),
             drop_weak: bool = typer.Option(False, "--drop-weak",
                                            help="Leave out, with a warning, entries that could never fail or that an "
                                                 "untrained generator passes, instead of refusing to write the baseline."),
             workers: str = WORKERS,
             threads: Optional[int] = THREADS,
             offline: bool = OFFLINE,
             device: str = typer.Option("auto", help="cpu, cuda or auto (for the one-step training)."),
             ) -> None:
    """Write a regression baseline from a suite's stored results: median, spread and tolerance per metric.

    Every entry must be able to fail: its tolerance must stay inside the metric's range, and the suite
    trained for one step (an untrained generator, stored under RESULTS/.untrained) must regress on it.
    """
    from ganbench.check import make_baseline
    from ganbench.atomic import atomic_write_json
    from ganbench.results.frame import load_results

    _offline(offline)
    spec = _suite(suite)
    df = load_results(results / spec.name) if (results / spec.name).exists() else None
    if df is None or df.empty:
        raise GanbenchError(f"{results / spec.name}: no stored runs (run `ganbench run {suite}` first)")
    _, untrained = _untrained(spec, results, workers, device, threads)
    doc, weak = make_baseline(df, spec.name, z=z, rel=rel, untrained=untrained, infos=_dataset_infos(spec),
                              drop_weak=drop_weak)
    for (dataset, model, metric), why in sorted(weak.items()):
        typer.echo(f"left out {dataset}/{model}/{metric}: {why}", err=True)
    atomic_write_json(out, doc)
    typer.echo(f"wrote {out}: {len(doc['entries'])} entries" + (f" ({len(weak)} left out)" if weak else ""))


@app.command()
def check(suite: Path = typer.Argument(..., help="Suite (YAML file or shipped name) to run (or read) and compare."),
          baseline_file: Path = typer.Option(..., "--baseline", help="Baseline JSON written by `ganbench baseline` "
                                             "(or a shipped one by name: ci-baseline.json)."),
          results: Path = RESULTS,
          tolerance: float = typer.Option(1.0, help="Scale every stored tolerance (e.g. 2 doubles them)."),
          run_first: bool = typer.Option(True, "--run/--no-run", help="Train missing runs first, or only read results."),
          workers: str = WORKERS,
          threads: Optional[int] = THREADS,
          offline: bool = OFFLINE,
          device: str = typer.Option("auto", help="cpu, cuda or auto."),
          self_test: bool = typer.Option(False, "--self-test",
                                         help="Prove the gate's power instead: train the suite for one step (under "
                                              "RESULTS/.untrained) and pass only if every (dataset, model) regresses."),
          ) -> None:
    """Catch a change that makes your GANs worse: exit 0 when every metric holds, 1 on a regression, 2 on bad input.

    With --self-test the roles flip: an untrained generator must fail the check on every (dataset, model)
    of the baseline, else the gate could not catch a broken GAN there (exit 1).
    """
    from ganbench.check import compare, failed, format_table, read_baseline_doc
    from ganbench.check import self_test as gate_power
    from ganbench.results.frame import load_results

    entries, left_out = read_baseline_doc(_baseline_file(baseline_file))
    _offline(offline)
    spec = _suite(suite)
    if self_test:
        df, _ = _untrained(spec, results, workers, device, threads)
        typer.echo(format_table(compare(df, entries, scale=tolerance, left_out=left_out)))
        power = gate_power(df, entries, scale=tolerance)
        blind_pairs = [pair for pair, caught in power.items() if not caught]
        if blind_pairs:
            typer.echo("self-test FAILED: an untrained generator passes on " +
                       ", ".join(f"{d}/{m}" for d, m in blind_pairs), err=True)
            raise typer.Exit(1)
        typer.echo(f"self-test passed: an untrained generator fails on all {len(power)} (dataset, model) pairs")
        return
    if run_first:
        from ganbench.suite_runner import run_suite

        run_suite(spec, _store(results), workers=workers, device=device, data_root=spec.data_root,
                  download=spec.download, threads=threads)
    suite_dir = results / spec.name
    import pandas as pd

    df = load_results(suite_dir) if suite_dir.exists() else pd.DataFrame(columns=["metric"])
    table = compare(df, entries, scale=tolerance, left_out=left_out)
    typer.echo(format_table(table))
    if failed(table):
        typer.echo("check FAILED: a metric regressed beyond its tolerance, or a (dataset, model) is missing", err=True)
        raise typer.Exit(1)
    typer.echo("check passed")


try:  # typer >= 0.2x vendors click and exposes its exceptions' base class
    from typer import TyperException as _UsageErrors
except ImportError:  # older typer depends on click itself
    from click import ClickException as _UsageErrors


def main() -> None:
    """Entry point: user errors print one line and exit 2, never a traceback."""
    try:
        code = app(standalone_mode=False)  # without standalone mode, click *returns* a typer.Exit's code
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except GanbenchError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted: re-run the same command to resume", err=True)
        sys.exit(130)
    except _UsageErrors as err:  # a mistyped option or missing argument
        show = getattr(err, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(err, "exit_code", 2))


if __name__ == "__main__":
    main()
