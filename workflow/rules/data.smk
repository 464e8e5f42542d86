# Data stage: the toy world (when enabled), dataset checks, splits.

if PLAN.toy:

    rule toy_world:
        output:
            "results/data/toy_world.txt",
        log:
            "logs/data/toy_world.log",
        benchmark:
            "results/benchmarks/toy_world.tsv"
        params:
            out=PLAN.toy_dir,
            world=config["toy_world"],
            seed=PLAN.seed,
        threads: 1
        resources:
            mem_mb=PLAN.resource("data", "mem_mb"),
            runtime=PLAN.resource("data", "runtime"),
        conda:
            "../envs/sggan.yaml"
        shell:
            '"$PYTHON" -m sggan.data.toyworld --out {params.out:q} --seed {params.seed}'
            " --scale {params.world[scale]} --gta-frames {params.world[gta_frames]}"
            " --cityscapes-train {params.world[cityscapes_train]}"
            " --cityscapes-val {params.world[cityscapes_val]} --done {output:q} > {log:q} 2>&1"

    rule ideal_frames:
        input:
            toy_world_done,
            source="results/data/gta.tsv",
        output:
            "results/adapted/ideal/frames.tsv",
        log:
            "logs/data/ideal_frames.log",
        benchmark:
            "results/benchmarks/ideal_frames.tsv"
        params:
            images=adapted_images("ideal"),
        threads: 1
        conda:
            "../envs/sggan.yaml"
        shell:
            '"$PYTHON" -m sggan.gather --frames {input.source:q} --images {params.images:q}'
            " --out {output:q} > {log:q} 2>&1"


rule check_gta:
    input:
        toy_world_done,
    output:
        frames="results/data/gta.tsv",
        report="results/data/gta_report.json",
    log:
        "logs/data/check_gta.log",
    benchmark:
        "results/benchmarks/check_gta.tsv"
    params:
        root=PLAN.gta_root,
        max_excluded=config["data"].get("max_excluded_fraction", 0.01),
    threads: config["data"].get("check_workers", 4)
    resources:
        mem_mb=PLAN.resource("data", "mem_mb"),
        runtime=PLAN.resource("data", "runtime"),
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m sggan.data.check --dataset gta --root {params.root:q} --report {output.report:q}'
        " --frames-out {output.frames:q} --max-excluded-fraction {params.max_excluded}"
        " --workers {threads} > {log:q} 2>&1"


rule check_cityscapes:
    input:
        toy_world_done,
    output:
        frames="results/data/cityscapes_{split}.tsv",
        report="results/data/cityscapes_{split}_report.json",
    log:
        "logs/data/check_cityscapes_{split}.log",
    benchmark:
        "results/benchmarks/check_cityscapes/{split}.tsv"
    params:
        root=PLAN.cityscapes_root,
        max_excluded=config["data"].get("max_excluded_fraction", 0.01),
    threads: config["data"].get("check_workers", 4)
    resources:
        mem_mb=PLAN.resource("data", "mem_mb"),
        runtime=PLAN.resource("data", "runtime"),
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m sggan.data.check --dataset cityscapes --split {wildcards.split} --root {params.root:q}'
        " --report {output.report:q} --frames-out {output.frames:q}"
        " --max-excluded-fraction {params.max_excluded} --workers {threads} > {log:q} 2>&1"


rule splits:
    input:
        source="results/data/gta.tsv",
        target="results/data/cityscapes_train.tsv",
    output:
        "results/splits/heldout_source.tsv",
        "results/splits/heldout_target.tsv",
        "results/splits/translator_target.tsv",
        expand("results/splits/{regime}/translator_source.tsv", regime=config["splits"]["regimes"]),
    log:
        "logs/data/splits.log",
    benchmark:
        "results/benchmarks/splits.tsv"
    params:
        splits=config["splits"],
        regimes=[f"--regime={name}={count}" for name, count in config["splits"]["regimes"].items()],
        seed=PLAN.seed,
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m sggan.data.splits --source {input.source:q} --target {input.target:q} --seed {params.seed}'
        " --translator-target {params.splits[translator_target]}"
        " --heldout-source {params.splits[heldout_source]} --heldout-target {params.splits[heldout_target]}"
        " {params.regimes:q} --out results/splits > {log:q} 2>&1"
