# Evaluation: scores per method against the target's val labels, provenance, Table 2.


# The evaluator checks that every val frame has exactly one prediction: the shards' gather.
rule evaluate:
    input:
        shards=gather.predict("results/predictions/{{method}}/shards/{scatteritem}.tsv"),
        ground_truth=toy_output("cityscapes"),
    output:
        scores="results/scores/{method}.json",
        frames="results/scores/{method}.frames.npz",  # written beside the scores by eval.evaluate
    log:
        "logs/evaluate/{method}.log",
    params:
        predictions=shared("results/predictions/{method}/labels"),
        ground_truth=f"{CITYSCAPES_ROOT}/gtFine/val",
    threads: config.get("evaluation", {}).get("workers", 2)
    resources:
        mem_mb=job_resource("evaluate", "mem_mb"),
        runtime=job_resource("evaluate", "runtime"),
    shell:
        "python -m eval.evaluate --predictions {params.predictions} --ground-truth {params.ground_truth}"
        " --out {output.scores} --workers {threads} 2> {log}"


rule provenance:
    output:
        report("results/provenance.json", caption="../report/provenance.rst", category="Provenance"),
    log:
        "logs/evaluate/provenance.log",
    params:
        config=lambda wildcards: json.dumps(config, sort_keys=True),
        config_files=" ".join(map(str, workflow.configfiles)),
    threads: 1
    shell:
        "python -m eval.provenance --config-json {params.config:q} --seed {SEED}"
        " --config-file {params.config_files} --out {output} 2> {log}"


# Bootstrap intervals over the validation frames and paired comparisons (TABLE2_COMPARISONS).
rule table2:
    input:
        scores=expand("results/scores/{method}.json", method=METHODS),
        frames=expand("results/scores/{method}.frames.npz", method=METHODS),
        provenance="results/provenance.json",
    output:
        csv=report("results/tables/table2.csv", caption="../report/table2.rst", category="Tables"),
        md="results/tables/table2.md",
        per_class=report("results/tables/table2_per_class.csv", caption="../report/table2_per_class.rst",
                         category="Tables"),
        comparisons=report("results/tables/table2_comparisons.csv", caption="../report/table2_comparisons.rst",
                           category="Tables"),
        chart=report("results/figures/per_class_iou.png", caption="../report/per_class_iou.rst",
                     category="Figures"),
    log:
        "logs/evaluate/table2.log",
    params:
        scores=" ".join(f"--score {m}=results/scores/{m}.json" for m in METHODS),
        comparisons=" ".join(f"--compare {c.a},{c.b} --claim {shlex.quote(c.claim)}" for c in TABLE2_COMPARISONS),
    threads: 1
    shell:
        "python -m eval.table2 {params.scores} {params.comparisons} --out-csv {output.csv} --out-md {output.md}"
        " --out-per-class-csv {output.per_class} --out-comparisons-csv {output.comparisons}"
        " --out-chart {output.chart} --provenance {input.provenance} 2> {log}"


# Translator quality on the held-out source frames: realism (KID to held-out target frames) and,
# with the oracle row, semantic preservation (the oracle network against the source labels).
rule kid:
    input:
        heldout="results/splits/heldout_source.tsv",
        target="results/splits/heldout_target.tsv",
        adapted="results/adapted/{adapted}/frames.tsv",
    output:
        "results/quality/{adapted}/kid.json",
    log:
        "logs/quality/kid_{adapted}.log",
    params:
        images=lambda wildcards: adapted_images(wildcards.adapted),
        weights=kid_weights(),
        subsets=QUALITY.get("kid_subsets", 100),
        subset_size=QUALITY.get("kid_subset_size", 1000),
        device=DEVICE,
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("quality", "mem_mb"),
        runtime=job_resource("quality", "runtime"),
        gpu=gpu_request(min(GPU_PER_JOB, 1)),
    shell:
        "OMP_NUM_THREADS={threads} python -m eval.kid --source-frames {input.heldout}"
        " --adapted-dir {params.images} --target-frames {input.target} {params.weights} --seed {SEED}"
        " --subsets {params.subsets} --subset-size {params.subset_size} --device {params.device}"
        " --out {output} 2> {log}"


rule semantic_preservation:
    input:
        model=f"results/segmentation/oracle/{SEG_FINAL_STAGE}/model.pt",
        heldout="results/splits/heldout_source.tsv",
        adapted="results/adapted/{adapted}/frames.tsv",
    output:
        "results/quality/{adapted}/semantic.json",
    log:
        "logs/quality/semantic_{adapted}.log",
    params:
        device=DEVICE,
        tile=f"--tile {SEG['tile']}" if SEG.get("tile") else "",
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("quality", "mem_mb"),
        runtime=job_resource("quality", "runtime"),
        gpu=gpu_request(min(GPU_PER_JOB, 1)),
    shell:
        "OMP_NUM_THREADS={threads} python -m eval.semantic --model {input.model} --heldout {input.heldout}"
        " --adapted {input.adapted} --device {params.device} {params.tile} --out {output} 2> {log}"


rule translator_quality:
    input:
        kid=expand("results/quality/{adapted}/kid.json", adapted=ADAPTED),
        semantic=expand("results/quality/{adapted}/semantic.json", adapted=ADAPTED) if "oracle" in METHODS else [],
        provenance="results/provenance.json",
    output:
        csv=report("results/tables/translator_quality.csv", caption="../report/translator_quality.rst",
                   category="Tables"),
        md="results/tables/translator_quality.md",
    log:
        "logs/quality/translator_quality.log",
    params:
        kid=" ".join(f"--kid {m}=results/quality/{m}/kid.json" for m in ADAPTED),
        semantic=" ".join(f"--semantic {m}=results/quality/{m}/semantic.json" for m in ADAPTED)
        if "oracle" in METHODS else "",
    threads: 1
    shell:
        "python -m eval.quality {params.kid} {params.semantic} --provenance {input.provenance}"
        " --out-csv {output.csv} --out-md {output.md} 2> {log}"
