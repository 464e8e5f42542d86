# Evaluation: scores per method and seed against the target's val labels, provenance, Table 2.


# Every evaluation scores against the same val labels: decoded once (most of an evaluation's time).
rule decode_ground_truth:
    input:
        "results/data/cityscapes_val.tsv",  # the checked val frames
    output:
        "results/data/cityscapes_val_labels.npz",
    log:
        "logs/evaluate/decode_ground_truth.log",
    benchmark:
        "results/benchmarks/decode_ground_truth.tsv"
    params:
        ground_truth=f"{PLAN.cityscapes_root}/gtFine/val",
    threads: config.get("evaluation", {}).get("workers", 2)
    resources:
        mem_mb=PLAN.resource("evaluate", "mem_mb"),
        runtime=PLAN.resource("evaluate", "runtime"),
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.ground_truth --ground-truth {params.ground_truth:q} --out {output:q}'
        " --workers {threads} > {log:q} 2>&1"


# The evaluator checks that every val frame has exactly one prediction: the shards' gather.
rule evaluate:
    input:
        ground_truth="results/data/cityscapes_val_labels.npz",
        shards=gather.predict("results/predictions/{{method}}/seed{{seed}}/shards/{scatteritem}.tsv"),
    output:
        scores="results/scores/{method}/seed{seed}.json",
        frames="results/scores/{method}/seed{seed}.frames.npz",  # written beside the scores by eval.evaluate
    log:
        "logs/evaluate/{method}/seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate/{method}/seed{seed}.tsv"
    params:
        predictions=lambda wildcards: predicted_labels(wildcards.method, wildcards.seed),
    threads: config.get("evaluation", {}).get("workers", 2)
    resources:
        mem_mb=PLAN.resource("evaluate", "mem_mb"),
        runtime=PLAN.resource("evaluate", "runtime"),
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.evaluate --predictions {params.predictions:q} --ground-truth {input.ground_truth:q}'
        " --out {output.scores:q} --workers {threads} > {log:q} 2>&1"


rule provenance:
    output:
        report("results/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    log:
        "logs/evaluate/provenance.log",
    benchmark:
        "results/benchmarks/provenance.tsv"
    params:
        config=lambda wildcards: json.dumps(config, sort_keys=True),
        config_files=[str(path) for path in workflow.configfiles],
        seeds=PLAN.seeds,
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.provenance --config-json {params.config:q} --seed {params.seeds}'
        " --config-file {params.config_files:q} --out {output:q} > {log:q} 2>&1"


# Over seeds, with bootstrap intervals over the validation frames and paired comparisons
# (config evaluation.comparisons, or the paper's claims by default).
rule table2:
    input:
        scores=expand("results/scores/{method}/seed{seed}.json", method=PLAN.methods, seed=PLAN.seeds),
        frames=expand("results/scores/{method}/seed{seed}.frames.npz", method=PLAN.methods, seed=PLAN.seeds),
        provenance="results/provenance.json",
    output:
        csv=report("results/tables/table2.csv", caption="../report/table2.rst", category="Tables"),
        md="results/tables/table2.md",
        per_class=report(
            "results/tables/table2_per_class.csv", caption="../report/table2_per_class.rst", category="Tables"
        ),
        comparisons=report(
            "results/tables/table2_comparisons.csv", caption="../report/table2_comparisons.rst", category="Tables"
        ),
        chart=report("results/figures/per_class_iou.png", caption="../report/per_class_iou.rst", category="Figures"),
    log:
        "logs/evaluate/table2.log",
    benchmark:
        "results/benchmarks/table2.tsv"
    params:
        scores=table2_scores(),
        comparisons=table2_comparisons(),
        draws=bootstrap_draws(),
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.table2 {params.scores:q} {params.comparisons:q} {params.draws:q}'
        " --out-csv {output.csv:q} --out-md {output.md:q} --out-per-class-csv {output.per_class:q}"
        " --out-comparisons-csv {output.comparisons:q} --out-chart {output.chart:q}"
        " --provenance {input.provenance:q} > {log:q} 2>&1"


# Translator quality on the held-out source frames: realism (KID to held-out target frames) and,
# with the oracle row, semantic preservation (the oracle network against the source labels); of
# the first seed's translators and oracle. Every translator's KID and FID compare with the same
# held-out target images: their features are computed once.
rule kid_target_features:
    input:
        target="results/splits/heldout_target.tsv",
    output:
        "results/quality/target_features.npz",
    log:
        "logs/quality/kid_target_features.log",
    benchmark:
        "results/benchmarks/kid_target_features.tsv"
    params:
        weights=kid_weights(),
        seed=PLAN.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("quality", "mem_mb"),
        runtime=PLAN.resource("quality", "runtime"),
        gpu=PLAN.gpu_request(most=1),
    conda:
        "../envs/sggan.yaml"
    shell:
        'OMP_NUM_THREADS={threads} "$PYTHON" -m eval.kid --target-frames {input.target:q} {params.weights:q}'
        " --seed {params.seed} --device {params.device:q} --features-out {output:q} > {log:q} 2>&1"


rule kid:
    input:
        heldout="results/splits/heldout_source.tsv",
        target="results/quality/target_features.npz",
        adapted="results/adapted/{adapted}/frames.tsv",
    output:
        "results/quality/{adapted}/kid.json",
    log:
        "logs/quality/kid_{adapted}.log",
    benchmark:
        "results/benchmarks/kid/{adapted}.tsv"
    params:
        images=lambda wildcards: adapted_images(wildcards.adapted),
        weights=kid_weights(),
        subsets=config.get("quality", {}).get("kid_subsets", 100),
        subset_size=config.get("quality", {}).get("kid_subset_size", 1000),
        seed=PLAN.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("quality", "mem_mb"),
        runtime=PLAN.resource("quality", "runtime"),
        gpu=PLAN.gpu_request(most=1),
    conda:
        "../envs/sggan.yaml"
    shell:
        'OMP_NUM_THREADS={threads} "$PYTHON" -m eval.kid --source-frames {input.heldout:q}'
        " --adapted-dir {params.images:q} --target-features {input.target:q} {params.weights:q} --seed {params.seed}"
        " --subsets {params.subsets} --subset-size {params.subset_size} --device {params.device:q}"
        " --out {output:q} > {log:q} 2>&1"


rule semantic_preservation:
    input:
        model=segmentation_model("oracle", PLAN.seed),
        heldout="results/splits/heldout_source.tsv",
        adapted="results/adapted/{adapted}/frames.tsv",
    output:
        "results/quality/{adapted}/semantic.json",
    log:
        "logs/quality/semantic_{adapted}.log",
    benchmark:
        "results/benchmarks/semantic_preservation/{adapted}.tsv"
    params:
        device=PLAN.device,
        tile=tile_flag(),
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("quality", "mem_mb"),
        runtime=PLAN.resource("quality", "runtime"),
        gpu=PLAN.gpu_request(most=1),
    conda:
        "../envs/sggan.yaml"
    shell:
        'OMP_NUM_THREADS={threads} "$PYTHON" -m eval.semantic --model {input.model:q} --heldout {input.heldout:q}'
        " --adapted {input.adapted:q} --device {params.device:q} {params.tile:q} --out {output:q} > {log:q} 2>&1"


rule translator_quality:
    input:
        kid=[f"results/quality/{shown(m)}/kid.json" for m in PLAN.adapted],
        semantic=[f"results/quality/{shown(m)}/semantic.json" for m in PLAN.adapted] if "oracle" in PLAN.methods else [],
        provenance="results/provenance.json",
    output:
        csv=report(
            "results/tables/translator_quality.csv", caption="../report/translator_quality.rst", category="Tables"
        ),
        md="results/tables/translator_quality.md",
    log:
        "logs/quality/translator_quality.log",
    benchmark:
        "results/benchmarks/translator_quality.tsv"
    params:
        kid=[f"--kid={m}=results/quality/{shown(m)}/kid.json" for m in PLAN.adapted],
        semantic=(
            [f"--semantic={m}=results/quality/{shown(m)}/semantic.json" for m in PLAN.adapted]
            if "oracle" in PLAN.methods
            else []
        ),
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.quality {params.kid:q} {params.semantic:q} --provenance {input.provenance:q}'
        " --out-csv {output.csv:q} --out-md {output.md:q} > {log:q} 2>&1"
