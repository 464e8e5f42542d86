"""What the workflow's config asks for, checked when Snakemake reads the workflow.

The Snakefile validates the config against workflow/schemas/config.schema.yaml (types, ranges),
then calls :func:`read_config`, which checks what a schema cannot (translator models and their
parameters, the regimes they train on, the methods that the A/B study and each figure name, the
data roots) and returns a :class:`Plan`, the one object the rules read. A mistake is a
:class:`ConfigError` with one line naming the key and the fix; nothing here starts work.
(The segmentation stages are read by segmentation.stages.)
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass

from eval import kid
from sggan.adaptation import AdaptOptions, check_working_size
from sggan.cli import UserError
from sggan.config_values import ConfigError
from sggan.data.io import DataError
from sggan.data.readers import CityscapesRoot, GTA5Root
from sggan.translators import get_translator

# Memory (MB) and run time (minutes) each stage's jobs ask the scheduler for; config `resources`
# overrides these per stage. Sized for the paper's full-resolution data; toy jobs need far less.
DEFAULT_RESOURCES = {
    "data": {"mem_mb": 4000, "runtime": 60},
    "translator": {"mem_mb": 16000, "runtime": 24 * 60},
    "adapt": {"mem_mb": 16000, "runtime": 4 * 60},
    "segmentation": {"mem_mb": 32000, "runtime": 48 * 60},
    "predict": {"mem_mb": 16000, "runtime": 2 * 60},
    "evaluate": {"mem_mb": 8000, "runtime": 30},
    "quality": {"mem_mb": 16000, "runtime": 60},
}
# The paper's figures that compare two configured translators (config `figures:`), with the
# roles of the two.
PAIRED_FIGURES = ("fig5_gradient_zoom", "fig6_discriminator_diff")


@dataclass(frozen=True)
class Plan:
    """The checked config: Table 2's rows, what is trained and adapted, where the bulk lives."""

    config: dict
    toy: bool
    shared_dir: str  # run folders, adapted images, predictions, the toy world ("": here)
    translators: dict[str, dict]  # method -> its config entry
    trainable: list[str]  # translators with something to learn
    methods: list[str]  # Table 2's rows, in order
    adapted: list[str]  # methods with adapted source frames
    ab_pairs: list[dict]
    figures: dict[str, list[str]]  # figure -> the methods it shows (for the figures configured)
    seeds: list[int]  # every seeded stage runs once per seed
    comparisons: list[dict]  # Table 2's paired comparisons: {a, b, claim}

    def figure(self, name: str) -> list[str]:
        """The methods a figure shows, or none when config `figures:` does not ask for it."""
        return self.figures.get(name, [])

    def shared(self, path: str) -> str:
        """Where a folder that no declared file carries lives: in shared_dir when it is set."""
        return os.path.join(self.shared_dir, path) if self.shared_dir else path

    @property
    def seed(self) -> int:
        """The first seed: it seeds the work that all seeds share (the toy world, the splits, the
        A/B kit, KID's subsets), and its runs are the ones the figures and quality table show."""
        return self.seeds[0]

    def adapted_run(self, method: str, seed: int) -> str:
        """The folder key of a method's adapted frames: per seed for a translator that trains
        (``sggan-2k/seed1``), shared by all seeds otherwise (``source-only``, ``ideal``)."""
        return f"{method}/seed{seed}" if method in self.trainable else method

    @property
    def adapted_runs(self) -> list[str]:
        return list(dict.fromkeys(self.adapted_run(m, s) for m in self.adapted for s in self.seeds))

    @property
    def device(self) -> str:
        return self.config.get("device", "auto")

    @property
    def threads_per_job(self) -> int:
        """CPU threads of each torch job: one each on the toy world, where several jobs share a few
        cores (torch's thread pools slow down badly when oversubscribed)."""
        return self.config.get("threads_per_job", 1)

    @property
    def toy_dir(self) -> str:
        return self.shared(self.config["toy_world"].get("out", "data/toy"))

    @property
    def gta_root(self) -> str:
        root = self.config["data"]["gta_root"]
        return self.shared(root) if self.toy else root  # the toy world is generated with the bulk

    @property
    def cityscapes_root(self) -> str:
        root = self.config["data"]["cityscapes_root"]
        return self.shared(root) if self.toy else root

    @property
    def ab_methods(self) -> list[str]:
        return list(dict.fromkeys(m for pair in self.ab_pairs for m in (pair["a"], pair["b"])))

    @property
    def ab_answers(self) -> str:
        """The A/B study's answers database (written by the raters' app, never by a job)."""
        return self.config.get("ab_study", {}).get("answers", "results/ab_study/answers.sqlite")

    @property
    def adaptation_amp(self) -> bool:
        return self.config["adaptation"].get("amp", AdaptOptions.amp)

    @property
    def gpus_per_job(self) -> int:
        """GPUs each accelerated job claims; `--resources gpu=N` then keeps N such jobs at once."""
        if self.device == "cpu":
            return 0
        return int(self.config.get("gpus_per_job", 0 if self.toy else 1))

    def gpu_request(self, most: int | None = None) -> int | None:
        """A job's `gpu` resource (gpus_per_job, at most ``most``): left out rather than 0 when it
        uses none, since the Kubernetes executor asks for a GPU node for every job that has the
        key, whatever its value."""
        return min(self.gpus_per_job, most or self.gpus_per_job) or None

    def resource(self, stage: str, key: str) -> int:
        return self.config.get("resources", {}).get(stage, {}).get(key, DEFAULT_RESOURCES[stage][key])


def read_config(config: dict) -> Plan:
    """The Plan of a schema-valid config, or a ConfigError naming the first mistake."""
    toy = config.get("toy_world", {}).get("enabled", False)
    translators = config["translators"]
    trainable = [method for method, translator in built_translators(config).items() if translator.trainable]
    methods = (
        list(translators)
        + (["oracle"] if config.get("oracle", True) else [])
        + (["ideal"] if toy and config.get("ideal", False) else [])
    )
    adapted = list(translators) + (["ideal"] if "ideal" in methods else [])
    plan = Plan(
        config=config,
        toy=toy,
        shared_dir=config.get("shared_dir", ""),
        translators=translators,
        trainable=trainable,
        methods=methods,
        adapted=adapted,
        ab_pairs=ab_pairs(config.get("ab_study", {}), adapted),
        figures=figures(config.get("figures", {}), adapted, methods),
        seeds=seeds(config),
        comparisons=comparisons(config, methods),
    )
    if not toy:
        check_data_roots(plan)
    check_inception_weights(config.get("quality", {}))
    return plan


def built_translators(config: dict) -> dict:
    """Each configured translator, built once: unknown models and parameters fail here."""
    regimes = config["splits"]["regimes"]
    translators = {}
    for method, entry in config["translators"].items():
        try:
            cls = get_translator(entry["model"])
            translators[method] = translator = cls(entry.get("params", {}))
        except UserError as err:
            raise ConfigError(f"config translators.{method}: {err}") from None
        if translator.trainable and entry.get("regime") not in regimes:
            raise ConfigError(
                f"config translators.{method}: model {entry['model']!r} is trained and needs "
                f"'regime', one of {sorted(regimes)} (splits.regimes)"
            )
        try:
            check_working_size(config["adaptation"]["working_size"], translator.size_multiple())
        except UserError as err:
            raise ConfigError(f"config adaptation.working_size, for translators.{method}: {err}") from None
    return translators


def seeds(config: dict) -> list[int]:
    """``seeds: [0, 1, 2]``; a config of one ``seed: N`` (the form before seed lists) means [N]."""
    if "seed" in config and "seeds" in config:
        raise ConfigError(
            f"config has both seed ({config['seed']}) and seeds ({config['seeds']}); keep "
            f"seeds: [{config['seed']}] alone"
        )
    chosen = config.get("seeds", [config.get("seed", 0)])
    if len(set(chosen)) != len(chosen):
        raise ConfigError(f"config seeds: {chosen} names a seed twice")
    return list(chosen)


SGGAN_ABLATIONS = {
    "use_gradient_loss": "the gradient-sensitive loss helps",
    "semantic_discriminator": "the semantic-aware discriminator helps",
}


def comparisons(config: dict, methods: list[str]) -> list[dict]:
    """Table 2's paired comparisons: config ``evaluation.comparisons`` (each {a, b}, checked), or
    by default the pairs the paper's claims rest on (:func:`default_comparisons`)."""
    chosen = config.get("evaluation", {}).get("comparisons")
    if chosen is None:
        return default_comparisons(config["translators"], config["splits"]["regimes"])
    for i, pair in enumerate(chosen):
        unknown = [pair[k] for k in ("a", "b") if pair[k] not in methods]
        if unknown or pair["a"] == pair["b"]:
            raise ConfigError(
                f"config evaluation.comparisons[{i}]: {pair['a']!r} vs {pair['b']!r} must name two "
                f"different Table 2 rows, from {', '.join(methods)}"
            )
    return [{"a": p["a"], "b": p["b"], "claim": p.get("claim", "")} for p in chosen]


def default_comparisons(translators: dict[str, dict], regimes: dict) -> list[dict]:
    """The pairs the paper's claims rest on, among the configured translators: each translation
    vs no translation (model ``identity``), full SG-GAN vs CycleGAN, the larger regime vs the
    smaller for otherwise equal translators (25K vs 2K), and full SG-GAN vs each ablation of the
    same regime. ``a`` is the side the paper finds better."""

    def params(method):
        return translators[method].get("params", {})

    def ablated(method):
        return [key for key in SGGAN_ABLATIONS if params(method).get(key, True) is False]

    def without_ablations(method):
        return {k: v for k, v in params(method).items() if k not in SGGAN_ABLATIONS}

    def size(method):
        frames = regimes.get(translators[method].get("regime"))
        return float("inf") if frames == "all" else float(frames or 0)

    def pair(a, b, claim):
        return {"a": a, "b": b, "claim": claim}

    identity = [m for m, e in translators.items() if e["model"] == "identity"]
    translated = [m for m, e in translators.items() if e["model"] != "identity"]
    full_sggan = [m for m in translated if translators[m]["model"] == "sggan" and not ablated(m)]
    cyclegan = [m for m in translated if translators[m]["model"] == "cyclegan"]
    pairs = [pair(t, s, "translation helps") for t in translated for s in identity]
    pairs += [pair(g, c, "SG-GAN beats CycleGAN") for g in full_sggan for c in cyclegan]
    pairs += [
        pair(big, small, "more source frames help")
        for big in translated
        for small in translated
        if translators[big]["model"] == translators[small]["model"]
        and params(big) == params(small)
        and size(big) > size(small)
    ]
    pairs += [
        pair(full, ablation, "; ".join(SGGAN_ABLATIONS[k] for k in ablated(ablation)))
        for ablation in translated
        if translators[ablation]["model"] == "sggan" and ablated(ablation)
        for full in full_sggan
        if translators[full].get("regime") == translators[ablation].get("regime")
        and without_ablations(full) == without_ablations(ablation)
    ]
    return pairs


def ab_pairs(study: dict, adapted: list[str]) -> list[dict]:
    pairs = study.get("pairs", [])
    for i, pair in enumerate(pairs):
        unknown = [pair[k] for k in ("a", "b") if pair[k] not in adapted]
        if unknown or pair["a"] == pair["b"]:
            raise ConfigError(
                f"config ab_study.pairs[{i}]: {pair['a']!r} vs {pair['b']!r} must name two "
                f"different configured translators, from {', '.join(adapted)}"
            )
    return pairs


def figures(block: dict, adapted: list[str], methods: list[str]) -> dict:
    """The methods of each configured figure, every one of them checked against the config:
    fig4_translations (columns) and the paired figures show adapted frames, fig7_segmentation
    (rows) predictions."""
    shown = {}
    for name in ("fig4_translations", "fig7_segmentation"):
        if name in block:
            allowed = adapted if name == "fig4_translations" else methods
            for i, method in enumerate(block[name]):
                if method not in allowed:
                    raise ConfigError(
                        f"config figures.{name}[{i}]: {method!r} is not configured; choose from {', '.join(allowed)}"
                    )
            if len(set(block[name])) != len(block[name]):
                raise ConfigError(f"config figures.{name}: {block[name]} names a method twice")
            shown[name] = list(block[name])
    for name in PAIRED_FIGURES:
        if name in block:
            pair = block[name]
            for role in ("full", "ablation"):
                if pair[role] not in adapted:
                    raise ConfigError(
                        f"config figures.{name}.{role}: {pair[role]!r} is not a configured "
                        f"translator; choose from {', '.join(adapted)}"
                    )
            if pair["full"] == pair["ablation"]:
                raise ConfigError(
                    f"config figures.{name}: full and ablation are both {pair['full']!r}; "
                    f"name two different translators"
                )
            shown[name] = [pair["full"], pair["ablation"]]
    return shown


def check_data_roots(plan: Plan) -> None:
    """Real data must be there before anything runs (the toy world is generated by the pipeline)."""
    try:
        GTA5Root(plan.gta_root)
        CityscapesRoot(plan.cityscapes_root)
    except DataError as err:
        raise ConfigError(f"data missing: {err}") from None


def check_inception_weights(quality: dict) -> None:
    """The standard FID/KID network needs torch-fidelity and the published weights file, checked
    before anything runs (a KID job would otherwise fail after the translators have trained)."""
    if quality.get("kid_weights") != "tf-inception":
        return
    if importlib.util.find_spec("torch_fidelity") is None:
        raise ConfigError(
            "config quality.kid_weights: tf-inception is torch-fidelity's network; install the metrics "
            "extra: pip install 'sggan-benchmark[metrics]'"
        )
    if not quality.get("kid_weights_file"):
        raise ConfigError(
            f"config quality.kid_weights_file: kid_weights tf-inception needs the path of a copy of {kid.TF_INCEPTION.url}"
        )
    try:
        kid.check_published_weights(quality["kid_weights_file"], kid.TF_INCEPTION)
    except DataError as err:
        raise ConfigError(f"config quality.kid_weights_file: {err}") from None


def typed_from_command_line(value, schema: dict, defs: dict):
    """``value`` with the strings that Snakemake's ``--config KEY=[...]`` leaves inside lists and
    mappings (it reads them with YAML's BaseLoader: ``seeds=[0,1,2]`` gives ``['0', '1', '2']``)
    turned into the integer, number or boolean the schema asks for there. A string that does not
    read as that type is left for the schema's validation to name."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    for alternative in schema.get("oneOf", []) + schema.get("anyOf", []):
        typed = typed_from_command_line(value, alternative, defs)
        if typed != value:  # the first alternative that reads the value
            return typed
    kind = schema.get("type")
    if isinstance(value, dict) and kind == "object":
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {
            key: typed_from_command_line(item, properties.get(key, extra if isinstance(extra, dict) else {}), defs)
            for key, item in value.items()
        }
    if isinstance(value, list) and kind == "array" and isinstance(schema.get("items"), dict):
        return [typed_from_command_line(item, schema["items"], defs) for item in value]
    if isinstance(value, str):
        readers = {
            "integer": lambda text: int(text) if re.fullmatch(r"[+-]?\d+", text) else None,
            "number": lambda text: (
                float(text) if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) else None
            ),
            "boolean": {"true": True, "false": False}.get,
        }
        for name in kind if isinstance(kind, list) else [kind]:
            typed = readers[name](value.strip().lower()) if name in readers else None
            if typed is not None:
                return typed
    return value


def schema_error_line(error: Exception) -> str:
    """One line of a failed schema validation (Snakemake's message dumps the schema over many):
    the key, as a dotted path, and what is wrong with its value."""
    text = str(error)
    problem = re.search(r"ValidationError: (.+)", text)
    where = re.search(r"On instance((?:\[[^\]]+\])*)", text)
    key = ".".join(part.strip("'\"") for part in re.findall(r"\[([^\]]+)\]", where.group(1))) if where else ""
    message = problem.group(1) if problem else text.strip().splitlines()[-1]
    return f"{key + ': ' if key else ''}{message} (allowed values: workflow/schemas/config.schema.yaml)"
