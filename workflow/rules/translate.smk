# Translator training: one job per trainable method (SG-GAN, its ablations, baselines) and seed.


rule train_translator:
    input:
        source=translator_source_list,
        target="results/splits/translator_target.tsv",
    output:
        "results/translators/{trained}/seed{seed}/generator.pt",
    log:
        "logs/translate/{trained}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_translator/{trained}/seed{seed}.tsv"
    params:
        model=translator_model,
        params=translator_params,
        run_dir=translator_run_dir,
        seed=lambda wildcards: wildcards.seed,
        device=PLAN.device,
    threads: PLAN.threads_per_job
    resources:
        mem_mb=PLAN.resource("translator", "mem_mb"),
        runtime=PLAN.resource("translator", "runtime"),
        gpu=PLAN.gpu_request(),
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m sggan.train --model {params.model:q} --params {params.params:q}'
        " --source {input.source:q} --target {input.target:q} --run-dir {params.run_dir:q} --out {output:q}"
        " --seed {params.seed} --device {params.device:q} --threads {threads} > {log:q} 2>&1"
