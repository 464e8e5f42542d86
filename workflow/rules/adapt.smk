# Adaptation: every source frame through each translator, in independent shards, then a gather
# that checks every frame was written at its label's size.


rule adapt:
    input:
        frames="results/data/gta.tsv",
        generator=translator_checkpoint,
    output:
        "results/adapted/{translator}/shards/{scatteritem}.tsv",
    log:
        "logs/adapt/{translator}/{scatteritem}.log",
    benchmark:
        "results/benchmarks/adapt/{translator}/{scatteritem}.tsv"
    params:
        model=translator_model,
        params=translator_params,
        run_dir=shared("results/translators/{translator}"),
        images=lambda wildcards: adapted_images(wildcards.translator),
        shard=lambda w: shard_of(w.scatteritem),
        size=config["adaptation"]["working_size"],
        batch_size=config["adaptation"].get("batch_size", 1),
        workers=config["adaptation"].get("workers", 0),
        device=DEVICE,
    threads: max(1, config["adaptation"].get("workers", 0))
    resources:
        mem_mb=job_resource("adapt", "mem_mb"),
        runtime=job_resource("adapt", "runtime"),
        gpu=gpu_request(GPU_PER_JOB),
    shell:
        "OMP_NUM_THREADS={threads} python -m sggan.adapt --model {params.model} --params {params.params:q}"
        " --run-dir {params.run_dir} --frames {input.frames} --out {params.images}"
        " --shard {params.shard[0]} --num-shards {params.shard[1]}"
        " --working-size {params.size[0]} {params.size[1]} --batch-size {params.batch_size}"
        " --workers {params.workers} --device {params.device} --done {output} 2> {log}"


rule gather_adapted:
    input:
        shards=gather.adapt("results/adapted/{{translator}}/shards/{scatteritem}.tsv"),
        frames="results/data/gta.tsv",
    output:
        "results/adapted/{translator}/frames.tsv",
    log:
        "logs/adapt/{translator}/gather.log",
    params:
        images=lambda wildcards: adapted_images(wildcards.translator),
    threads: 1
    shell:
        "python -m sggan.gather --frames {input.frames} --images {params.images} --out {output} 2> {log}"
