# Segmentation: the dilated network trained per method in three stages, then label-id predictions
# on target val:  class_stats -> train_frontend -> dump_frontend_scores -> train_context -> train_joint
#                 -> predict (the last stage's model.pt; the front-end's with arch: frontend).
# config `segmentation:` top-level keys are the front-end stage's (and defaults for the others);
# `context:` and `joint:` override them for their stage (workflow/schemas/config.schema.yaml).

rule class_stats:
    input:
        frames=segmentation_frames,
    output:
        "results/segmentation/{method}/class_stats.json",
    log:
        "logs/segment/class_stats_{method}.log",
    params:
        workers=SEG.get("workers", 0),
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("data", "mem_mb"),
        runtime=job_resource("data", "runtime"),
    shell:
        "OMP_NUM_THREADS=1 python -m segmentation.class_stats --frames {input.frames} --out {output}"
        " --workers {params.workers} 2> {log}"


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
        run_dir=shared("results/segmentation/{method}/frontend"),
        publish=publish(shared("results/segmentation/{method}/frontend/model.pt")),
        launcher=seg_launcher(),
        options=seg_options("frontend"),
        common=seg_common(),
        init=seg_init(),
        balance=seg_balance,
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("segmentation", "mem_mb"),
        runtime=job_resource("segmentation", "runtime"),
        gpu=gpu_request(GPU_PER_JOB),
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --arch frontend"
        " --frames {input.frames} --out {params.run_dir} {params.init} {params.options} {params.common}"
        " {params.balance} 2> {log}{params.publish}"


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
        device=DEVICE,
        workers=SEG.get("workers", 0),
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("segmentation", "mem_mb"),
        runtime=job_resource("segmentation", "runtime"),
        gpu=gpu_request(min(GPU_PER_JOB, 1)),
    shell:
        "OMP_NUM_THREADS={threads} python -m segmentation.dump --model {input.model} --frames {input.frames}"
        " --out {output} --device {params.device} --workers {params.workers} 2> {log}"


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
        run_dir=shared("results/segmentation/{method}/context"),
        publish=publish(shared("results/segmentation/{method}/context/model.pt")),
        launcher=seg_launcher(),
        options=seg_options("context"),
        common=seg_common(),
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("segmentation", "mem_mb"),
        runtime=job_resource("segmentation", "runtime"),
        gpu=gpu_request(GPU_PER_JOB),
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --arch dilation10"
        " --scores {input.scores} --init-from {input.frontend} --out {params.run_dir}"
        " {params.options} {params.common} 2> {log}{params.publish}"


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
        run_dir=shared("results/segmentation/{method}/joint"),
        publish=publish(shared("results/segmentation/{method}/joint/model.pt")),
        launcher=seg_launcher(),
        options=seg_options("joint"),
        common=seg_common(),
        balance=seg_balance,
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("segmentation", "mem_mb"),
        runtime=job_resource("segmentation", "runtime"),
        gpu=gpu_request(GPU_PER_JOB),
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} -m segmentation.train --arch dilation10"
        " --frames {input.frames} --init-from {input.context} --out {params.run_dir}"
        " {params.options} {params.common} {params.balance} 2> {log}{params.publish}"


rule predict:
    input:
        model=f"results/segmentation/{{method}}/{SEG_FINAL_STAGE}/model.pt",
        frames="results/data/cityscapes_val.tsv",
    output:
        "results/predictions/{method}/shards/{scatteritem}.tsv",
    log:
        "logs/segment/predict_{method}/{scatteritem}.log",
    params:
        labels=shared("results/predictions/{method}/labels"),
        shard=lambda w: shard_of(w.scatteritem),
        device=DEVICE,
        tile=f"--tile {SEG['tile']}" if SEG.get("tile") else "",
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("predict", "mem_mb"),
        runtime=job_resource("predict", "runtime"),
        gpu=gpu_request(min(GPU_PER_JOB, 1)),
    shell:
        "OMP_NUM_THREADS={threads} python -m segmentation.predict --model {input.model}"
        " --frames {input.frames} --out {params.labels} --shard {params.shard[0]} --num-shards {params.shard[1]}"
        " --done {output} --device {params.device} {params.tile} 2> {log}"
