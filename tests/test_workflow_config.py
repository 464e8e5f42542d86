"""Reading the workflow's config (sggan.workflow_config): rows, trained methods, figures, study pairs,
data roots and the shared folder, each mistake refused with one line naming the key."""

import copy
from pathlib import Path

import pytest
import yaml

from sggan.workflow_config import ConfigError, default_comparisons, read_config

REPO = Path(__file__).resolve().parents[1]
TOY = yaml.safe_load((REPO / "config.yaml").read_text())
TINY = yaml.safe_load((REPO / "tests/data/tiny_config.yaml").read_text())


def changed(config: dict, **top) -> dict:
    config = copy.deepcopy(config)
    config.update(top)
    return config


def test_the_toy_config_plans_every_row_in_order():
    plan = read_config(TOY)
    assert plan.methods == ["source-only", "sggan-2k", "sggan-25k", "cyclegan-2k", "oracle", "ideal"]
    assert plan.trainable == ["sggan-2k", "sggan-25k", "cyclegan-2k"]
    assert plan.adapted == ["source-only", "sggan-2k", "sggan-25k", "cyclegan-2k", "ideal"]
    assert plan.figures == {
        "fig4_translations": ["sggan-2k", "sggan-25k", "cyclegan-2k"],
        "fig7_segmentation": ["source-only", "sggan-25k"],
    }
    assert plan.ab_methods == ["sggan-2k", "cyclegan-2k", "sggan-25k"]
    assert (plan.toy, plan.gta_root, plan.toy_dir) == (True, "data/toy/gta", "data/toy")
    assert plan.gpus_per_job == 0 and plan.resource("segmentation", "mem_mb") == 2000
    assert plan.resource("segmentation", "runtime") == 30


def test_the_bulk_moves_to_the_shared_folder_and_real_data_stays_where_it_is():
    plan = read_config(changed(TINY, shared_dir="/volume"))
    assert plan.shared("results/adapted/x/images") == "/volume/results/adapted/x/images"
    assert (plan.toy_dir, plan.cityscapes_root) == ("/volume/data/toy", "/volume/data/toy/cityscapes")
    assert read_config(TINY).shared("results/x") == "results/x"


def test_renamed_methods_keep_their_figures():
    config = copy.deepcopy(TINY)
    config["translators"]["mine"] = config["translators"].pop("sggan-2k")
    config["figures"] = {
        "fig6_discriminator_diff": {"full": "mine", "ablation": "sggan-2k-no-sd"},
        "fig7_segmentation": ["oracle", "mine"],
    }
    del config["ab_study"]
    assert read_config(config).figures == {
        "fig7_segmentation": ["oracle", "mine"],
        "fig6_discriminator_diff": ["mine", "sggan-2k-no-sd"],
    }


@pytest.mark.parametrize(
    "figures, message",
    [
        (
            {"fig4_translations": ["sggan-2k", "sggan-2k-no-grad"]},
            "config figures.fig4_translations[1]: 'sggan-2k-no-grad' is not configured; choose from source-only, ",
        ),
        (
            {"fig7_segmentation": ["source-only", "source-only"]},
            "config figures.fig7_segmentation: ['source-only', 'source-only'] names a method twice",
        ),
        (
            {"fig5_gradient_zoom": {"full": "sggan-2k", "ablation": "sggan-2k-no-grad"}},
            "config figures.fig5_gradient_zoom.ablation: 'sggan-2k-no-grad' is not a configured translator",
        ),
        (
            {"fig6_discriminator_diff": {"full": "sggan-2k", "ablation": "sggan-2k"}},
            "config figures.fig6_discriminator_diff: full and ablation are both 'sggan-2k'",
        ),
        ({"fig4_translations": ["oracle"]}, "config figures.fig4_translations[0]: 'oracle' is not configured"),
    ],
)
def test_a_figure_naming_an_unconfigured_method_is_refused(figures, message):
    with pytest.raises(ConfigError) as err:
        read_config(changed(TINY, figures=figures))
    assert message in str(err.value)


def test_translator_mistakes_are_refused_naming_the_method():
    config = copy.deepcopy(TINY)
    config["translators"]["mine"] = {"model": "no-such-model"}
    with pytest.raises(ConfigError, match=r"config translators.mine: unknown translator model 'no-such-model'"):
        read_config(config)
    config["translators"]["mine"] = {"model": "sggan", "regime": "5k"}
    with pytest.raises(ConfigError, match=r"config translators.mine: model 'sggan' is trained and needs 'regime'"):
        read_config(config)
    config["translators"]["mine"] = {"model": "sggan", "regime": "2k", "params": {"epoch": 3}}
    with pytest.raises(ConfigError, match=r"config translators.mine: .*unknown parameter"):
        read_config(config)


def test_an_ab_pair_must_name_two_configured_translators():
    with pytest.raises(ConfigError, match=r"ab_study.pairs\[0\]: 'sggan-2k' vs 'sggan-2k' must name two different"):
        read_config(changed(TINY, ab_study={"pairs": [{"a": "sggan-2k", "b": "sggan-2k"}]}))


def test_missing_real_data_is_refused_before_anything_runs(tmp_path):
    config = changed(
        TINY,
        toy_world={"enabled": False},
        data={"gta_root": str(tmp_path / "gta"), "cityscapes_root": str(tmp_path / "cityscapes")},
    )
    with pytest.raises(ConfigError) as err:
        read_config(config)
    assert str(err.value).startswith(f"data missing: GTA-V root {tmp_path / 'gta'}") and "download" in str(err.value)


def test_seeds_default_to_one_and_a_single_seed_key_still_reads():
    assert read_config(TINY).seeds == [0]
    no_seed = {k: v for k, v in TINY.items() if k != "seeds"}
    assert read_config(no_seed).seeds == [0]
    assert read_config(changed(no_seed, seed=4)).seeds == [4]
    plan = read_config(changed(TINY, seeds=[2, 0, 1]))
    assert plan.seeds == [2, 0, 1] and plan.seed == 2  # the first seed seeds the shared work
    with pytest.raises(ConfigError, match=r"config has both seed \(4\) and seeds \(\[0\]\); keep seeds: \[4\] alone"):
        read_config(changed(TINY, seed=4))
    with pytest.raises(ConfigError, match=r"config seeds: \[1, 1\] names a seed twice"):
        read_config(changed(TINY, seeds=[1, 1]))


def test_trained_translators_adapt_per_seed_and_the_others_once():
    plan = read_config(changed(TINY, seeds=[0, 1]))
    assert plan.adapted_run("sggan-2k", 1) == "sggan-2k/seed1"
    assert plan.adapted_run("source-only", 1) == "source-only" and plan.adapted_run("ideal", 0) == "ideal"
    assert plan.adapted_runs == [
        "source-only",
        "sggan-2k/seed0",
        "sggan-2k/seed1",
        "sggan-2k-no-sd/seed0",
        "sggan-2k-no-sd/seed1",
        "ideal",
    ]


def test_comparisons_default_to_the_papers_claims_among_the_configured_translators():
    sggan = {"epochs": 6}
    translators = {
        "source-only": {"model": "identity"},
        "sggan-2k": {"model": "sggan", "regime": "2k", "params": sggan},
        "sggan-25k": {"model": "sggan", "regime": "25k", "params": sggan},
        "sggan-2k-no-grad": {"model": "sggan", "regime": "2k", "params": {**sggan, "use_gradient_loss": False}},
        "sggan-25k-no-sd": {"model": "sggan", "regime": "25k", "params": {**sggan, "semantic_discriminator": False}},
        "cyclegan-2k": {"model": "cyclegan", "regime": "2k"},
        "cyclegan-2k-long": {"model": "cyclegan", "regime": "2k", "params": {"epochs": 9}},
    }
    pairs = default_comparisons(translators, {"2k": 2000, "25k": "all"})
    assert [(c["a"], c["b"]) for c in pairs] == [
        ("sggan-2k", "source-only"),
        ("sggan-25k", "source-only"),
        ("sggan-2k-no-grad", "source-only"),
        ("sggan-25k-no-sd", "source-only"),
        ("cyclegan-2k", "source-only"),
        ("cyclegan-2k-long", "source-only"),
        ("sggan-2k", "cyclegan-2k"),
        ("sggan-2k", "cyclegan-2k-long"),
        ("sggan-25k", "cyclegan-2k"),
        ("sggan-25k", "cyclegan-2k-long"),
        ("sggan-25k", "sggan-2k"),  # same params, more frames; not across ablations
        ("sggan-2k", "sggan-2k-no-grad"),
        ("sggan-25k", "sggan-25k-no-sd"),
    ]
    assert pairs[-2] == {"a": "sggan-2k", "b": "sggan-2k-no-grad", "claim": "the gradient-sensitive loss helps"}
    assert {"a": "sggan-25k", "b": "sggan-2k", "claim": "more source frames help"} in read_config(TOY).comparisons


def test_configured_comparisons_must_name_two_rows():
    chosen = [{"a": "oracle", "b": "sggan-2k"}, {"a": "ideal", "b": "source-only", "claim": "a perfect translation"}]
    config = changed(TINY, evaluation={"comparisons": chosen})
    assert read_config(config).comparisons == [{"a": "oracle", "b": "sggan-2k", "claim": ""}, chosen[1]]
    with pytest.raises(ConfigError, match=r"evaluation.comparisons\[0\]: 'sggan-25k' vs 'sggan-2k' must name two"):
        read_config(changed(TINY, evaluation={"comparisons": [{"a": "sggan-25k", "b": "sggan-2k"}]}))


def test_the_standard_inception_network_needs_the_published_weights_file(tmp_path, monkeypatch):
    from eval import kid

    url = kid.TF_INCEPTION.url
    standard = {"kid_weights": "tf-inception"}
    with pytest.raises(
        ConfigError,
        match=rf"^config quality.kid_weights_file: kid_weights tf-inception needs the path of a copy of {url}$",
    ):
        read_config(changed(TINY, quality=standard))
    missing = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    with pytest.raises(
        ConfigError,
        match=rf"^config quality.kid_weights_file: {missing} does not exist; download {url} and give its path$",
    ):
        read_config(changed(TINY, quality=standard | {"kid_weights_file": str(missing)}))
    wrong = tmp_path / "inception_v3_google-0cc3c7bd.pth"  # torchvision's network, say
    wrong.write_bytes(b"not the TF-ported network")
    with pytest.raises(
        ConfigError,
        match=rf"^config quality.kid_weights_file: {wrong} is not weights-inception-2015-12-05-6726825d.pth \(its sha256 starts {kid.file_sha256(wrong)[:8]}, the published file's 6726825d\); download {url} and give its path$",
    ):
        read_config(changed(TINY, quality=standard | {"kid_weights_file": str(wrong)}))
    # the check, pointed at that file's hash, lets it through
    monkeypatch.setattr(
        kid, "TF_INCEPTION", kid.PublishedWeights(f"https://example.org/w-{kid.file_sha256(wrong)[:8]}.pth")
    )
    assert read_config(changed(TINY, quality=standard | {"kid_weights_file": str(wrong)})).methods
    # random and ImageNet weights need no file here (the ImageNet ones download on demand)
    assert read_config(changed(TINY, quality={"kid_weights": "random"})).methods
    assert read_config(changed(TINY, quality={"kid_weights": "imagenet"})).methods


def test_the_standard_inception_network_needs_torch_fidelity(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch_fidelity" else real(name, *a)
    )
    with pytest.raises(
        ConfigError,
        match=r"^config quality.kid_weights: tf-inception is torch-fidelity's network; install the metrics extra: pip install 'sggan-benchmark\[metrics\]'$",
    ):
        read_config(changed(TINY, quality={"kid_weights": "tf-inception"}))


def test_command_line_strings_are_typed_as_the_schema_says():
    # Snakemake reads `--config seeds=[0,1,2]` with YAML's BaseLoader: every scalar inside is a string
    from snakemake.cli import parse_config

    from sggan.workflow_config import typed_from_command_line

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    given = parse_config(["seeds=[0,1,2]", "segmentation={crop: [48, 64], lr: 1e-3, iterations: x}", "oracle=[true]"])
    assert given["seeds"] == ["0", "1", "2"]
    typed = typed_from_command_line(given, schema, schema["$defs"])
    assert typed["seeds"] == [0, 1, 2]
    assert typed["segmentation"] == {"crop": [48, 64], "lr": 0.001, "iterations": "x"}  # "x" is the schema's to refuse
    assert typed["oracle"] == ["true"]  # not where the schema has a boolean: left as given
