# Segmentation: the dilated network trained per method in three stages, then label-id predictions
# on target val:  class_stats -> train_frontend -> dump_frontend_scores -> train_context -> train_joint
#                 -> predict (the last stage's model.pt; the front-end's with arch: frontend).
# Each stage's settings come from config `segmentation:` through segmentation.stages, as JSON.


rule class_stats:
    input:
        frames=segmentation_frames,
    output:
        "results/segmentation/{method}/class_stats.json",
    log:
        "logs/segment/class_stats_{method}.log",
    params:
        workers=SEGMENTATION.get("workers", 0),
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("data", "mem_mb"),
        runtime=PLAN.resource("data", "runtime"),
    shell:
        'OMP_NUM_THREADS=1 "$PYTHON" -m segmentation.class_stats --frames {input.frames:q} --out {output:q}'
        " --workers {params.workers} 2> {log:q}"


rule train_frontend:
    input:
        frames=segmentation_frames,
        stats="results/segmentation/{method}/class_stats.json",
    output:
        "results/segmentation/{method}/frontend/model.pt",
    log:
        "logs/segment/train_frontend_{method}.log",
    benchmark:
        "results/benchmarks/train_frontend/{method}.tsv"
    params:
        launcher=segmentation_launcher(),
        settings=segmentation_settings("frontend"),
        run_dir=segmentation_run_dir("frontend"),
        seed=PLAN.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("segmentation", "mem_mb"),
        runtime=PLAN.resource("segmentation", "runtime"),
        gpu=PLAN.gpu_request(),
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --params {params.settings:q}"
        " --frames {input.frames:q} --class-stats {input.stats:q} --seed {params.seed} --device {params.device:q}"
        " --run-dir {params.run_dir:q} --out {output:q} 2> {log:q}"


rule dump_frontend_scores:
    input:
        model="results/segmentation/{method}/frontend/model.pt",
        frames=segmentation_frames,
    output:
        # 1.2 MB per 1052x1914 frame (30 GB for all of GTA-V): removed once the context stage is done
        temp(directory("results/segmentation/{method}/frontend_scores")),
    log:
        "logs/segment/dump_frontend_scores_{method}.log",
    params:
        device=PLAN.device,
        workers=SEGMENTATION.get("workers", 0),
        amp=no_amp(stages.amp(SEGMENTATION)),
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("segmentation", "mem_mb"),
        runtime=PLAN.resource("segmentation", "runtime"),
        gpu=PLAN.gpu_request(most=1),
    shell:
        'OMP_NUM_THREADS={threads} "$PYTHON" -m segmentation.dump --model {input.model:q} --frames {input.frames:q}'
        " --out {output:q} --device {params.device:q} --workers {params.workers} {params.amp:q} 2> {log:q}"


rule train_context:
    input:
        scores="results/segmentation/{method}/frontend_scores",
        frontend="results/segmentation/{method}/frontend/model.pt",
    output:
        "results/segmentation/{method}/context/model.pt",
    log:
        "logs/segment/train_context_{method}.log",
    benchmark:
        "results/benchmarks/train_context/{method}.tsv"
    params:
        launcher=segmentation_launcher(),
        settings=segmentation_settings("context"),
        run_dir=segmentation_run_dir("context"),
        seed=PLAN.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("segmentation", "mem_mb"),
        runtime=PLAN.resource("segmentation", "runtime"),
        gpu=PLAN.gpu_request(),
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --params {params.settings:q}"
        " --scores {input.scores:q} --init-from {input.frontend:q} --seed {params.seed} --device {params.device:q}"
        " --run-dir {params.run_dir:q} --out {output:q} 2> {log:q}"


rule train_joint:
    input:
        frames=segmentation_frames,
        context="results/segmentation/{method}/context/model.pt",
        stats="results/segmentation/{method}/class_stats.json",
    output:
        "results/segmentation/{method}/joint/model.pt",
    log:
        "logs/segment/train_joint_{method}.log",
    benchmark:
        "results/benchmarks/train_joint/{method}.tsv"
    params:
        launcher=segmentation_launcher(),
        settings=segmentation_settings("joint"),
        run_dir=segmentation_run_dir("joint"),
        seed=PLAN.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("segmentation", "mem_mb"),
        runtime=PLAN.resource("segmentation", "runtime"),
        gpu=PLAN.gpu_request(),
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --params {params.settings:q}"
        " --frames {input.frames:q} --init-from {input.context:q} --class-stats {input.stats:q}"
        " --seed {params.seed} --device {params.device:q} --run-dir {params.run_dir:q} --out {output:q} 2> {log:q}"


rule predict:
    input:
        model=lambda wildcards: segmentation_model(wildcards.method),
        frames="results/data/cityscapes_val.tsv",
    output:
        "results/predictions/{method}/shards/{scatteritem}.tsv",
    log:
        "logs/segment/predict_{method}/{scatteritem}.log",
    params:
        labels=lambda wildcards: predicted_labels(wildcards.method),
        shard=lambda wildcards: shard_of(wildcards.scatteritem),
        device=PLAN.device,
        tile=tile_flag(),
        amp=no_amp(stages.amp(SEGMENTATION)),
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("predict", "mem_mb"),
        runtime=PLAN.resource("predict", "runtime"),
        gpu=PLAN.gpu_request(most=1),
    shell:
        'OMP_NUM_THREADS={threads} "$PYTHON" -m segmentation.predict --model {input.model:q}'
        " --frames {input.frames:q} --out {params.labels:q} --shard {params.shard[0]} --num-shards {params.shard[1]}"
        " --done {output:q} --device {params.device:q} {params.tile:q} {params.amp:q} 2> {log:q}"
