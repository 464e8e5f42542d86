# Translator training: one job per trainable method (SG-GAN, its ablations, baselines).


rule train_translator:
    input:
        source=translator_source_list,
        target="results/splits/translator_target.tsv",
    output:
        "results/translators/{trained}/generator.pt",
    log:
        "logs/translate/{trained}.log",
    benchmark:
        "results/benchmarks/train_translator/{trained}.tsv"
    params:
        model=translator_model,
        params=translator_params,
        run_dir=shared("results/translators/{trained}"),
        device=DEVICE,
        publish=publish(shared("results/translators/{trained}/generator.pt")),
    threads: THREADS_PER_JOB
    resources:
        mem_mb=job_resource("translator", "mem_mb"),
        runtime=job_resource("translator", "runtime"),
        gpu=gpu_request(GPU_PER_JOB),
    shell:
        "python -m sggan.train --model {params.model} --params {params.params:q}"
        " --source {input.source} --target {input.target} --run-dir {params.run_dir}"
        " --seed {SEED} --device {params.device} --threads {threads} 2> {log}{params.publish}"
