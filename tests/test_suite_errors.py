"""A malformed suite gets every one of its problems at once, each with its YAML path, and never a traceback.

The property tests mutate every shipped suite (keys deleted, renamed, added; values of the wrong type,
huge, negative, zero, NaN, inf) and feed whole-file garbage to the loader: the answer is a valid spec or a
GanbenchError, nothing else. They run in-process; a few CLI checks confirm exit code 2 and no traceback.
"""
import copy
import datetime
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from ganbench.errors import GanbenchError, SpecError, SpecErrors
from ganbench.suite import MAX_COUNT, MAX_INT, TOP_KEYS, load, parse
from helpers.cli import ganbench_cli

ROOT = Path(__file__).resolve().parents[1]
#: the shipped suites, wherever the checkout keeps them (suites/ may link to ganbench/suites/)
SHIPPED = sorted({p.name: p for folder in (ROOT / "suites", ROOT / "ganbench" / "suites")
                  for p in folder.glob("*.yaml")}.values())
DOCS = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in SHIPPED}

TWO_PROBLEMS = """\
name: two
datasets: [ring]
budget: {eval_every: 10}
evaluation: {metrics: [modes]}
models:
  - {name: A, loss: wgan_pg, arch: mlp}
"""


def small_suite(**top) -> dict:
    doc = {"name": "s", "datasets": ["ring"], "models": [{"name": "A", "loss": "ns", "arch": "mlp"}],
           "budget": {"steps": 10}, "evaluation": {"metrics": ["modes"]}}
    return {**doc, **top}


def problems(doc) -> list[str]:
    """The lines ``path: detail`` of the error parsing ``doc`` raises."""
    with pytest.raises(SpecError) as info:
        parse(doc)
    err = info.value
    return [str(p) for p in err.problems] if isinstance(err, SpecErrors) else [str(err)]


def test_the_shipped_suites_are_found_and_valid():
    assert {"ci.yaml", "default.yaml", "lucic.yaml"} <= set(DOCS)
    for path in SHIPPED:
        load(path)


def test_a_missing_budget_and_a_misspelt_loss_are_both_reported_in_document_order(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(TWO_PROBLEMS)
    with pytest.raises(SpecErrors) as info:
        load(path)
    assert str(info.value) == (f"2 problems in {path}:\n"
                               "  budget.steps: is required\n"
                               "  models[0].loss: unknown loss 'wgan_pg' — did you mean 'wgan_gp'?")


def test_cli_lists_every_problem_and_exits_2(tmp_path):
    (tmp_path / "two.yaml").write_text(TWO_PROBLEMS)
    proc = ganbench_cli("plan", "two.yaml", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == ["error: 2 problems in two.yaml:", "  budget.steps: is required",
                                        "  models[0].loss: unknown loss 'wgan_pg' — did you mean 'wgan_gp'?"]


def test_a_broken_section_does_not_hide_the_others():
    doc = small_suite(hparams={"lr": {"loguniform": [1e-2, 1e-5]}}, seeds=0, search="wide",
                      models=[{"name": "A", "loss": "ns", "arch": "mpl"}, {"name": "B", "los": "ns", "arch": "mlp"}])
    assert problems(doc) == [
        "models[0].arch: unknown architecture 'mpl' — did you mean 'mlp'?",
        "models[1].los: unknown key 'los' — did you mean 'loss'?",
        "models[1].loss: is required for a GAN (e.g. ns, wgan_gp); or set kind: vae",
        "hparams.lr.loguniform: low must be below high, got [0.01, 1e-05]",
        "seeds: must be ≥ 1, got 0",
        "search: expected a mapping, got a string",
    ]


@pytest.mark.parametrize("changes, message", [
    ({"budget": {"steps": "many"}}, "budget.steps: expected an integer, got a string 'many'"),  # not also "required"
    ({"budget": 5}, "budget: expected a mapping, got an integer"),
    ({"evaluation": {"metrics": ["modes", "kid_"]}},
     "evaluation.metrics[1]: unknown metric 'kid_' — did you mean 'kid'?"),
    ({"evaluation": {"metrics": ["modes"], "extractor": "inceptoin"}},
     "evaluation.extractor: unknown feature extractor 'inceptoin' — did you mean 'inception'?"),
    ({"datasets": ["rnig"]}, "datasets[0].name: unknown dataset 'rnig' — did you mean 'ring'?"),  # models not blamed
    ({"phases": [{"name": 5}, {"name": "b", "best_of": {"phase": "a", "metric": "modes"}}]},
     "phases[0].name: expected a non-empty string, got an integer 5"),  # b's source may be the unnamed phase
])
def test_one_mistake_is_reported_once_not_again_downstream(changes, message):
    assert problems(small_suite(**changes)) == [message]


def test_the_same_problem_inherited_twice_is_listed_once():
    doc = small_suite(datasets=["ring", "grid"])
    del doc["budget"]
    assert problems(doc) == ["budget.steps: is required"]


def test_several_problems_in_one_model_are_all_listed():
    doc = small_suite(models=[{"name": "A", "loss": "wgan_pg", "penalty": "r11", "arch": "mpl", "hparams": {"lr": -1}}])
    assert problems(doc) == ["models[0].loss: unknown loss 'wgan_pg' — did you mean 'wgan_gp'?",
                             "models[0].penalty: unknown penalty 'r11' — did you mean 'r1'?",
                             "models[0].arch: unknown architecture 'mpl' — did you mean 'mlp'?",
                             "models[0].hparams.lr: must be ≥ 1e-12, got -1.0"]


@pytest.mark.parametrize("changes, message", [
    ({"seeds": 10**30}, "seeds: must be ≤ 100,000 (ganbench's limit), got 1000000000000000000000000000000"),
    ({"seeds": [0, 2**40]}, "seeds[1]: must be ≤ 4,294,967,295 (ganbench's limit), got 1099511627776"),
    ({"budget": {"steps": 10**30}}, "budget.steps: must be ≤ 1,000,000,000 (ganbench's limit), got "
                                    "1000000000000000000000000000000"),
    ({"evaluation": {"metrics": ["modes"], "n_gen": 10**12}}, "evaluation.n_gen: must be ≤ 10,000,000 (ganbench's "
                                                               "limit), got 1000000000000"),
    ({"search": {"samples": MAX_COUNT + 1}}, "search.samples: must be ≤ 100,000 (ganbench's limit), got 100001"),
    ({"hparams": {"batch_size": 10**50}}, f"hparams.batch_size: must be within ±{MAX_INT:,} (ganbench's limit), got "
                                          "a 51-digit integer"),
    ({"hparams": {"lambda": 10**400}}, f"hparams.lambda: must be within ±{MAX_INT:,} (ganbench's limit), got "
                                       "a 401-digit integer"),
    ({"hparams": {"lr": math.nan}}, "hparams.lr: must be a finite number, got nan"),
    ({"hparams": {"lr": {"loguniform": [1e-4, math.inf]}}},
     "hparams.lr.loguniform[1]: must be a finite number, got inf"),
    ({"hparams": {"lr": [[1e-4]]}}, "hparams.lr[0]: expected float, got list [0.0001]"),
    ({"datasets": [{"name": "ring", "params": {"sigma": -math.inf}}]},
     "datasets[0].params.sigma: must be a finite number, got -inf"),
    ({"evaluation": {"metrics": ["modes"], "extractor_options": {"batch_size": datetime.date(2024, 1, 1)}}},
     "evaluation.extractor_options.batch_size: expected a number, string, true/false, list or mapping, got date"),
])
def test_huge_and_non_finite_numbers_are_refused_with_the_limit(changes, message):
    assert problems(small_suite(**changes)) == [message]


def test_a_value_that_contains_itself_is_refused():
    loop: list = []
    loop.append(loop)
    doc = small_suite(evaluation={"metrics": ["modes"], "extractor_options": {"a": loop}})
    assert problems(doc) == ["evaluation.extractor_options.a[0]: contains itself (a YAML alias inside its own anchor)"]


def test_a_value_multiplied_by_yaml_aliases_is_refused(tmp_path):
    """Nine aliases of nine aliases, eight levels deep: 9^8 values if walked, but one short message."""
    levels = ["a: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]"
                                                     for i in range(1, 8)]
    path = tmp_path / "aliases.yaml"
    path.write_text("name: x\ndatasets: [ring]\nmodels: [{loss: ns, arch: mlp}]\nbudget: {steps: 10}\n"
                    "evaluation:\n  metrics: [modes]\n  extractor_options:\n"
                    + "".join(f"    {line}\n" for line in levels) + "description: *l7\n")
    with pytest.raises(SpecErrors) as info:
        load(path)
    assert [str(p) for p in info.value.problems] == [
        "evaluation.extractor_options: holds more than 10,000 values (ganbench's limit)",
        "description: expected text, got a list; put it in quotes"]


def test_a_file_that_is_no_mapping_is_named(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- ring\n- mlp\n")
    with pytest.raises(SpecError, match=r"list\.yaml: a suite is a mapping \(name: \.\.\., datasets: \.\.\., "
                                        r"models: \.\.\.\), got a list$"):
        load(path)


def test_unprintable_keys_stay_one_escaped_line():
    doc = small_suite(**{"bad\nkey\udc80": 1})
    (line,) = problems(doc)
    assert line.startswith("bad\\nkey\\udc80: unknown key 'bad\\nkey\\udc80'") and line.isprintable()


@pytest.mark.parametrize("content, expected", [
    (b"name: x\na: " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested too deeply"),
    (bytes(range(256)) * 4, "not UTF-8 text (byte 0x80 at line 2, column 118)"),
    (b"name: x\n\xe9t\xe9: 1\n", "not UTF-8 text (byte 0xe9 at line 2, column 1)"),
    (b"name: x\nseeds: " + b"1" * 5000 + b"\n", "not valid YAML at line 2, column 8: cannot read"),
    (b"name: x\x00\n", "not valid YAML at line 1, column 8: unacceptable character #x0000"),
], ids=["deep nesting", "binary file", "non-UTF-8 key", "5,000-digit integer", "NUL character"])
def test_unreadable_files_give_one_message_at_their_place(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(GanbenchError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("content", [
    b"name: x\na: " + b"[" * 3000 + b"]" * 3000 + b"\n",  # deep nesting
    bytes(range(256)) * 4,  # a binary file
    b"name: x\ndatasets: [ring]\n\xff\xfemodels: []\n",  # non-UTF-8 bytes in a key
    b"name: x\ndatasets: [ring]\nmodels: [{loss: ns, arch: mlp}]\nbudget: {steps: 10}\n"
    b"evaluation: {metrics: [modes]}\nseeds: 1000000000000000000000000000000\n",  # a huge integer
], ids=["deep nesting", "binary file", "non-UTF-8 key", "huge integer"])
def test_cli_exits_2_with_one_message_and_no_traceback(tmp_path, content):
    (tmp_path / "bad.yaml").write_bytes(content)
    proc = ganbench_cli("plan", "bad.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("error: ")


# ---------------------------------------------------------------- property: mutate every shipped suite

ODD_VALUES = [None, True, False, 0, -1, 1, 1.5, -0.5, 10**30, -10**30, 2**31, 2**64, 10**400, math.nan, math.inf,
              -math.inf, 1e308, "", "x", "ring", "mlp", "fid", "é\x00\udc80", [], {}, [1, 2], [[[]]], {"a": 1},
              {1: 2}, {"loguniform": [1, 0]}, {"choice": []}, {"int": [0, 10**30]}, datetime.date(2024, 1, 1),
              b"\xff"]
values = st.one_of(st.sampled_from(ODD_VALUES), st.integers(), st.floats(), st.text(max_size=8),
                   st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
                                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                            max_size=3),
                                max_leaves=6))


def _locations(node, prefix=()) -> list[tuple]:
    """Every key and list index in ``node``, as the path of keys/indices leading to it."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out = []
    for key, child in items:
        out.append(prefix + (key,))
        out += _locations(child, prefix + (key,))
    return out


def _typos(key) -> list:
    text = str(key)
    return [text[1:], text[:-1], text.upper(), text + "s", text[::-1], f" {text}"] if text else ["x"]


def _escaped(text: str) -> str:
    """A key as a message shows it: control characters and lone surrogates escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@st.composite
def mutated_suites(draw):
    doc = copy.deepcopy(DOCS[draw(st.sampled_from(sorted(DOCS)))])
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(_locations(doc)))
        parent = doc
        for key in where[:-1]:
            parent = parent[key]
        key = where[-1]
        op = draw(st.sampled_from(["delete", "rename", "add", "replace"]))
        if op == "delete":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.one_of(st.sampled_from(_typos(key)), st.text(max_size=6), st.integers()))] = parent.pop(key)
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.one_of(st.sampled_from(_typos(key)), st.text(max_size=6)))] = fresh(draw(values))
        elif op == "add":
            parent.insert(key, fresh(draw(values)))
        else:
            parent[key] = fresh(draw(values))
    return doc


def fresh(value):
    """A copy of a drawn value: ODD_VALUES' containers are shared, and a later mutation of the same document
    could otherwise write into one of them — even insert it into itself, a cycle every later example inherits."""
    return copy.deepcopy(value)


def parses_or_names_the_paths(doc) -> None:
    """``doc`` parses, or raises a SpecError whose every problem is ``path: detail`` with a path into it."""
    try:
        parse(doc)
    except SpecError as err:
        found = err.problems if isinstance(err, SpecErrors) else [err]
        roots = [_escaped(str(k)) or "''" for k in doc] + list(TOP_KEYS)
        for problem in found:
            assert any(problem.path == r or problem.path.startswith((f"{r}.", f"{r}[")) for r in roots), str(problem)
            assert str(problem) == f"{problem.path}: {problem.detail}" and str(problem).isprintable()
        lines = str(err).splitlines()
        assert len(lines) == (1 if len(found) == 1 else len(found) + 1)


@settings(max_examples=500, deadline=None)
@given(doc=mutated_suites())
def test_a_mutated_suite_parses_or_names_the_paths_of_its_problems(doc):
    parses_or_names_the_paths(doc)


SWEEP = [10**30, -1, 0, math.nan, None, []]


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_field_replaced_by_an_odd_value_parses_or_names_the_paths(name):
    """Hypothesis rarely hits one field with one value among hundreds: every field, every odd value, once."""
    for where in _locations(DOCS[name]):
        for value in SWEEP:
            doc = copy.deepcopy(DOCS[name])
            parent = doc
            for key in where[:-1]:
                parent = parent[key]
            parent[where[-1]] = value
            parses_or_names_the_paths(doc)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("garbage")


shipped_bytes = st.sampled_from([p.read_bytes() for p in SHIPPED])
garbage = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda src, at, junk: src[:at] + junk, shipped_bytes, st.integers(0, 5000), st.binary(max_size=20)),
    st.builds(lambda src, at, junk, cut: src[:at] + junk + src[at + cut:], shipped_bytes, st.integers(0, 5000),
              st.sampled_from([b"\x00", b"\xff", b"[", b"{", b": ", b"\t", b"&a [*a]", b"*x", b"2024-13-45",
                               b"!!python/name:os.system", b"9" * 5000, b"- ", b"\n  "]),
              st.integers(0, 40)),
)


@settings(max_examples=300, deadline=None)
@given(content=garbage)
def test_a_garbage_file_loads_or_gives_one_ganbench_error(scratch, content):
    path = scratch / "garbage.yaml"
    path.write_bytes(content)
    try:
        load(path)
    except SpecError as err:
        found = err.problems if isinstance(err, SpecErrors) else [err]
        assert len(str(err).splitlines()) == (1 if len(found) == 1 else len(found) + 1)
    except GanbenchError as err:  # the file itself: one line that names it
        assert str(err).startswith(f"{path}: ") and len(str(err).splitlines()) == 1


def conditional_suite(dataset, conditioning: str = "cgan", **model) -> dict:
    return small_suite(datasets=[dataset], evaluation={"metrics": ["knn"], "extractor": "raw"},
                       models=[{"name": "C", "loss": "ns", "arch": {"vector": "mlp", "image": "dcgan"},
                                "conditioning": conditioning, **model}])


@pytest.mark.parametrize("dataset, hint", [
    ("celeba", ""),
    ({"name": "polygons", "params": {"vertices": 4}}, " (mix vertex counts, e.g. vertices: [3, 4, 5], to label "
                                                      "polygons by count)"),
])
def test_label_conditioning_on_a_dataset_without_labels_names_the_field(dataset, hint):
    name = dataset if isinstance(dataset, str) else dataset["name"]
    assert problems(conditional_suite(dataset, "acgan")) == [
        f"models[0].conditioning: 'acgan' feeds G and D class labels, and dataset '{name}' has none{hint}; use "
        "'infogan' (no labels) or labelled datasets"]


def test_conditioning_that_needs_no_labels_or_labelled_data_is_accepted():
    assert parse(conditional_suite("celeba", "infogan")).models[0].conditioning == "infogan"
    mixed = {"name": "polygons", "params": {"vertices": [3, 4]}}
    assert parse(conditional_suite(mixed, "projection")).models[0].conditioning == "projection"


def test_an_unknown_conditioning_gets_a_suggestion():
    (line,) = problems(conditional_suite("ring", "projecton"))
    assert line.startswith("models[0].conditioning: unknown conditioning 'projecton'") and "'projection'" in line


def test_the_vae_and_began_refuse_conditioning():
    vae = small_suite(models=[{"name": "V", "kind": "vae", "arch": "mlp", "conditioning": "cgan"}])
    assert problems(vae) == ["models[0].conditioning: the VAE baseline is unconditional; remove it"]
    assert problems(conditional_suite("ring", "cgan", loss="began")) == [
        "models[0].conditioning: loss 'began' has an autoencoder D that scores reconstructions, which no "
        "conditioning here extends; use a loss with a logit D (e.g. ns, hinge, wgan_gp)"]


def test_label_metrics_do_not_apply_to_unlabelled_datasets():
    doc = small_suite(datasets=["celeba"], evaluation={"metrics": ["fid", "label_consistency", "intra_fid"],
                                                       "extractor": "inception"},
                      models=[{"name": "I", "loss": "ns", "arch": "dcgan", "conditioning": "infogan"}])
    assert parse(doc).datasets[0].evaluation.metrics == ("fid",)


def test_a_conditionings_own_hyperparameters_apply_to_its_models_only():
    from ganbench.expand import expand

    doc = small_suite(hparams={"aux_weight": 0.3, "info_cat": 8}, models=[
        {"name": "A", "loss": "ns", "arch": "mlp"},
        {"name": "B", "loss": "ns", "arch": "mlp", "conditioning": "acgan"},
        {"name": "C", "loss": "ns", "arch": "mlp", "conditioning": "infogan"}])
    runs = {r.model.name: dict(r.hparams) for r in expand(parse(doc)).runs}
    assert not {"aux_weight", "info_cat", "info_cont", "info_weight"} & set(runs["A"])
    assert runs["B"]["aux_weight"] == 0.3 and "info_cat" not in runs["B"]
    assert (runs["C"]["info_cat"], runs["C"]["info_cont"], runs["C"]["info_weight"]) == (8, 2, 1.0)


def test_an_infogan_code_with_more_values_than_classes_is_refused_when_code_fidelity_is_asked_for():
    doc = small_suite(datasets=[{"name": "ring", "params": {"modes": 6}, "hparams": {"info_cat": 7}}],
                      evaluation={"metrics": ["modes", "code_fidelity"]},
                      models=[{"name": "I", "loss": "ns", "arch": "mlp", "conditioning": "infogan"}])
    assert problems(doc) == [
        "datasets[0].hparams.info_cat: InfoGAN's code can take 7 values, and dataset 'ring' has 6 classes: metric "
        "code_fidelity matches codes to classes one to one; set info_cat ≤ 6 for 'I' there or drop code_fidelity"]
    searched = {**doc, "datasets": ["ring"], "hparams": {"info_cat": {"int": [2, 9]}}}
    (line,) = problems(searched)
    assert line.startswith("hparams.info_cat: InfoGAN's code can take 9 values, and dataset 'ring' has 8 classes")
    doc["evaluation"] = {"metrics": ["modes"]}  # no matching asked for: any code size is a valid experiment
    assert parse(doc).models[0].conditioning == "infogan"
