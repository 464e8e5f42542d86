# Data stage: the toy world (when enabled), dataset checks, splits.

if TOY:

    rule toy_world:
        output:
            gta=directory(toy_folder("gta")),
            cityscapes=directory(toy_folder("cityscapes")),
            ideal=directory(toy_folder("ideal")),
        log:
            "logs/data/toy_world.log",
        params:
            out=TOY_OUT,
            world=config["toy_world"],
        threads: 1
        resources:
            mem_mb=job_resource("data", "mem_mb"),
            runtime=job_resource("data", "runtime"),
        shell:
            "python -m sggan.data.toyworld --out {params.out} --seed {SEED}"
            " --scale {params.world[scale]} --gta-frames {params.world[gta_frames]}"
            " --cityscapes-train {params.world[cityscapes_train]}"
            " --cityscapes-val {params.world[cityscapes_val]} 2> {log}"

    rule ideal_frames:
        input:
            ideal=toy_folder("ideal"),
            source="results/data/gta.tsv",
        output:
            "results/adapted/ideal/frames.tsv",
        log:
            "logs/data/ideal_frames.log",
        threads: 1
        shell:
            "python -m sggan.gather --frames {input.source} --images {input.ideal}/images"
            " --out {output} 2> {log}"


rule check_gta:
    input:
        toy_output("gta"),
    output:
        frames="results/data/gta.tsv",
        report="results/data/gta_report.json",
    log:
        "logs/data/check_gta.log",
    params:
        root=GTA_ROOT,
        max_excluded=config["data"].get("max_excluded_fraction", 0.01),
    threads: config["data"].get("check_workers", 4)
    resources:
        mem_mb=job_resource("data", "mem_mb"),
        runtime=job_resource("data", "runtime"),
    shell:
        "python -m sggan.data.check --dataset gta --root {params.root} --report {output.report}"
        " --frames-out {output.frames} --max-excluded-fraction {params.max_excluded}"
        " --workers {threads} 2> {log}"


rule check_cityscapes:
    input:
        toy_output("cityscapes"),
    output:
        frames="results/data/cityscapes_{split}.tsv",
        report="results/data/cityscapes_{split}_report.json",
    log:
        "logs/data/check_cityscapes_{split}.log",
    params:
        root=CITYSCAPES_ROOT,
        max_excluded=config["data"].get("max_excluded_fraction", 0.01),
    threads: config["data"].get("check_workers", 4)
    resources:
        mem_mb=job_resource("data", "mem_mb"),
        runtime=job_resource("data", "runtime"),
    shell:
        "python -m sggan.data.check --dataset cityscapes --split {wildcards.split} --root {params.root}"
        " --report {output.report} --frames-out {output.frames}"
        " --max-excluded-fraction {params.max_excluded} --workers {threads} 2> {log}"


rule splits:
    input:
        source="results/data/gta.tsv",
        target="results/data/cityscapes_train.tsv",
    output:
        "results/splits/heldout_source.tsv",
        "results/splits/heldout_target.tsv",
        "results/splits/translator_target.tsv",
        expand("results/splits/{regime}/translator_source.tsv", regime=REGIMES),
    log:
        "logs/data/splits.log",
    params:
        splits=config["splits"],
        regimes=" ".join(f"--regime {name}={count}" for name, count in REGIMES.items()),
    threads: 1
    shell:
        "python -m sggan.data.splits --source {input.source} --target {input.target} --seed {SEED}"
        " --translator-target {params.splits[translator_target]}"
        " --heldout-source {params.splits[heldout_source]} --heldout-target {params.splits[heldout_target]}"
        " {params.regimes} --out results/splits 2> {log}"
