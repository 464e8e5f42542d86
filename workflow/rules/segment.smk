# Segmentation: the dilated network trained per method and seed in three stages, then label-id predictions
# on target val:  class_stats -> train_frontend -> dump_frontend_scores -> train_context -> train_joint
#                 -> predict (the last stage's model.pt; the front-end's with arch: frontend).
# Each stage's settings come from config `segmentation:` through segmentation.stages, as JSON.


rule class_stats:
    input:
        frames=segmentation_frames,
    output:
        "results/segmentation/{method}/seed{seed}/class_stats.json",
    log:
        "logs/segment/{method}/seed{seed}/class_stats.log",
    benchmark:
        "results/benchmarks/class_stats/{method}/seed{seed}.tsv"
    params:
        workers=SEGMENTATION.get("workers", 0),
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("data", "mem_mb"),
        runtime=PLAN.resource("data", "runtime"),
    conda:
        "../envs/sggan.yaml"
    shell:
        'OMP_NUM_THREADS=1 "$PYTHON" -m segmentation.class_stats --frames {input.frames:q} --out {output:q}'
        " --workers {params.workers} > {log:q} 2>&1"


rule train_frontend:
    input:
        frames=segmentation_frames,
        stats="results/segmentation/{method}/seed{seed}/class_stats.json",
    output:
        "results/segmentation/{method}/seed{seed}/frontend/model.pt",
    log:
        "logs/segment/{method}/seed{seed}/train_frontend.log",
    benchmark:
        "results/benchmarks/train_frontend/{method}/seed{seed}.tsv"
    params:
        launcher=segmentation_launcher(),
        settings=segmentation_settings("frontend"),
        run_dir=segmentation_run_dir("frontend"),
        seed=lambda wildcards: wildcards.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("segmentation", "mem_mb"),
        runtime=PLAN.resource("segmentation", "runtime"),
        gpu=PLAN.gpu_request(),
    conda:
        "../envs/sggan.yaml"
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --params {params.settings:q}"
        " --frames {input.frames:q} --class-stats {input.stats:q} --seed {params.seed} --device {params.device:q}"
        " --run-dir {params.run_dir:q} --out {output:q} > {log:q} 2>&1"


rule dump_frontend_scores:
    input:
        model="results/segmentation/{method}/seed{seed}/frontend/model.pt",
        frames=segmentation_frames,
    output:
        # 1.2 MB per 1052x1914 frame (30 GB for all of GTA-V): removed once the context stage is done
        temp(directory("results/segmentation/{method}/seed{seed}/frontend_scores")),
    log:
        "logs/segment/{method}/seed{seed}/dump_frontend_scores.log",
    benchmark:
        "results/benchmarks/dump_frontend_scores/{method}/seed{seed}.tsv"
    params:
        device=PLAN.device,
        workers=SEGMENTATION.get("workers", 0),
        amp=no_amp(stages.amp(SEGMENTATION)),
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("segmentation", "mem_mb"),
        runtime=PLAN.resource("segmentation", "runtime"),
        gpu=PLAN.gpu_request(most=1),
    conda:
        "../envs/sggan.yaml"
    shell:
        'OMP_NUM_THREADS={threads} "$PYTHON" -m segmentation.dump --model {input.model:q} --frames {input.frames:q}'
        " --out {output:q} --device {params.device:q} --workers {params.workers} {params.amp:q} > {log:q} 2>&1"


rule train_context:
    input:
        scores="results/segmentation/{method}/seed{seed}/frontend_scores",
        frontend="results/segmentation/{method}/seed{seed}/frontend/model.pt",
    output:
        "results/segmentation/{method}/seed{seed}/context/model.pt",
    log:
        "logs/segment/{method}/seed{seed}/train_context.log",
    benchmark:
        "results/benchmarks/train_context/{method}/seed{seed}.tsv"
    params:
        launcher=segmentation_launcher(),
        settings=segmentation_settings("context"),
        run_dir=segmentation_run_dir("context"),
        seed=lambda wildcards: wildcards.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("segmentation", "mem_mb"),
        runtime=PLAN.resource("segmentation", "runtime"),
        gpu=PLAN.gpu_request(),
    conda:
        "../envs/sggan.yaml"
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --params {params.settings:q}"
        " --scores {input.scores:q} --init-from {input.frontend:q} --seed {params.seed} --device {params.device:q}"
        " --run-dir {params.run_dir:q} --out {output:q} > {log:q} 2>&1"


rule train_joint:
    input:
        frames=segmentation_frames,
        context="results/segmentation/{method}/seed{seed}/context/model.pt",
        stats="results/segmentation/{method}/seed{seed}/class_stats.json",
    output:
        "results/segmentation/{method}/seed{seed}/joint/model.pt",
    log:
        "logs/segment/{method}/seed{seed}/train_joint.log",
    benchmark:
        "results/benchmarks/train_joint/{method}/seed{seed}.tsv"
    params:
        launcher=segmentation_launcher(),
        settings=segmentation_settings("joint"),
        run_dir=segmentation_run_dir("joint"),
        seed=lambda wildcards: wildcards.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("segmentation", "mem_mb"),
        runtime=PLAN.resource("segmentation", "runtime"),
        gpu=PLAN.gpu_request(),
    conda:
        "../envs/sggan.yaml"
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --params {params.settings:q}"
        " --frames {input.frames:q} --init-from {input.context:q} --class-stats {input.stats:q}"
        " --seed {params.seed} --device {params.device:q} --run-dir {params.run_dir:q} --out {output:q} > {log:q} 2>&1"


rule predict:
    input:
        model=lambda wildcards: segmentation_model(wildcards.method, wildcards.seed),
        frames="results/data/cityscapes_val.tsv",
    output:
        "results/predictions/{method}/seed{seed}/shards/{scatteritem}.tsv",
    log:
        "logs/segment/{method}/seed{seed}/predict/{scatteritem}.log",
    benchmark:
        "results/benchmarks/predict/{method}/seed{seed}/{scatteritem}.tsv"
    params:
        labels=lambda wildcards: predicted_labels(wildcards.method, wildcards.seed),
        shard=lambda wildcards: shard_of(wildcards.scatteritem),
        device=PLAN.device,
        tile=tile_flag(),
        amp=no_amp(stages.amp(SEGMENTATION)),
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("predict", "mem_mb"),
        runtime=PLAN.resource("predict", "runtime"),
        gpu=PLAN.gpu_request(most=1),
    conda:
        "../envs/sggan.yaml"
    shell:
        'OMP_NUM_THREADS={threads} "$PYTHON" -m segmentation.predict --model {input.model:q}'
        " --frames {input.frames:q} --out {params.labels:q} --shard {params.shard[0]} --num-shards {params.shard[1]}"
        " --done {output:q} --device {params.device:q} {params.tile:q} {params.amp:q} > {log:q} 2>&1"
