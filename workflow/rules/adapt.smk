# Adaptation: every source frame through each translator, in independent shards, then a gather
# that checks every frame was written at its label's size. {translated} is `sggan-2k/seed0` for a
# trained translator (one folder per seed), `source-only` for one that is not (shared by all seeds).


rule adapt:
    input:
        frames="results/data/gta.tsv",
        generator=translator_checkpoint,
    output:
        "results/adapted/{translated}/shards/{scatteritem}.tsv",
    log:
        "logs/adapt/{translated}/{scatteritem}.log",
    benchmark:
        "results/benchmarks/adapt/{translated}/{scatteritem}.tsv"
    params:
        model=translator_model,
        params=translator_params,
        run_dir=translator_run_dir,
        images=lambda wildcards: adapted_images(wildcards.translated),
        shard=lambda wildcards: shard_of(wildcards.scatteritem),
        size=config["adaptation"]["working_size"],
        batch_size=config["adaptation"].get("batch_size", 1),
        workers=config["adaptation"].get("workers", 0),
        amp=no_amp(PLAN.adaptation_amp),
        device=PLAN.device,
    threads: max(1, config["adaptation"].get("workers", 0))
    resources:
        mem_mb=PLAN.resource("adapt", "mem_mb"),
        runtime=PLAN.resource("adapt", "runtime"),
        gpu=PLAN.gpu_request(),
    conda:
        "../envs/sggan.yaml"
    shell:
        'OMP_NUM_THREADS={threads} "$PYTHON" -m sggan.adapt --model {params.model:q} --params {params.params:q}'
        " --run-dir {params.run_dir:q} --frames {input.frames:q} --out {params.images:q}"
        " --shard {params.shard[0]} --num-shards {params.shard[1]}"
        " --working-size {params.size[0]} {params.size[1]} --batch-size {params.batch_size}"
        " --workers {params.workers} --device {params.device:q} {params.amp:q} --done {output:q} > {log:q} 2>&1"


rule gather_adapted:
    input:
        shards=gather.adapt("results/adapted/{{translated}}/shards/{scatteritem}.tsv"),
        frames="results/data/gta.tsv",
    output:
        "results/adapted/{translated}/frames.tsv",
    log:
        "logs/adapt/{translated}/gather.log",
    benchmark:
        "results/benchmarks/gather_adapted/{translated}.tsv"
    params:
        images=lambda wildcards: adapted_images(wildcards.translated),
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m sggan.gather --frames {input.frames:q} --images {params.images:q} --out {output:q} > {log:q} 2>&1'
