# Segmentation: the dilated network trained per method, then label-id predictions on target val.


rule train_segmentation:
    input:
        frames=segmentation_frames,
    output:
        "results/segmentation/{method}/model.pt",
    log:
        "logs/segment/train_{method}.log",
    benchmark:
        "results/benchmarks/train_segmentation/{method}.tsv"
    params:
        run_dir="results/segmentation/{method}",
        seg=config["segmentation"],
        crop=lambda w: " ".join(map(str, np.atleast_1d(config["segmentation"]["crop"]))),
        device=DEVICE,
    threads: THREADS_PER_JOB
    resources:
        mem_mb=16000,
        runtime=48 * 60,
        gpu=GPU_PER_JOB,
    shell:
        "OMP_NUM_THREADS={threads} python -m segmentation.train --frames {input.frames} --out {params.run_dir}"
        " --iterations {params.seg[iterations]} --batch-size {params.seg[batch_size]} --crop {params.crop}"
        " --optimizer {params.seg[optimizer]} --lr {params.seg[lr]} --momentum {params.seg[momentum]}"
        " --weight-decay {params.seg[weight_decay]} --width {params.seg[width]} --workers {params.seg[workers]}"
        " --seed {SEED} --device {params.device} 2> {log}"


rule predict:
    input:
        model="results/segmentation/{method}/model.pt",
        frames="results/data/cityscapes_val.tsv",
    output:
        directory("results/predictions/{method}"),
    log:
        "logs/segment/predict_{method}.log",
    params:
        device=DEVICE,
    threads: THREADS_PER_JOB
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=GPU_PER_JOB,
    shell:
        "OMP_NUM_THREADS={threads} python -m segmentation.predict --model {input.model}"
        " --frames {input.frames} --out {output} --device {params.device} 2> {log}"
