# Table 1: the human A/B study. The kit (pairs of held-out frames adapted by two translators, left
# and right randomised and recorded, plus the crowd-sourcing batch) is built here; raters answer
# outside Snakemake, in the local app (python -m eval.ab serve) or on a crowd platform whose
# results are imported (python -m eval.ab import); the next run tallies their answers.


rule ab_kit:
    input:
        frames="results/splits/heldout_source.tsv",
        adapted=adapted_frames(PLAN.ab_methods),
    output:
        directory("results/ab_study/kit"),
    log:
        "logs/study/ab_kit.log",
    benchmark:
        "results/benchmarks/ab_kit.tsv"
    params:
        adapted=[f"--adapted={m}={adapted_images(shown(m))}" for m in PLAN.ab_methods],
        pairs=[f"--pair={p['a']}:{p['b']}" + (f"={p['paper']}" if "paper" in p else "") for p in PLAN.ab_pairs],
        num=config.get("ab_study", {}).get("num_frames", 500),
        size=config.get("ab_study", {}).get("size", [256, 512]),
        base_url=(
            ["--image-base-url", config["ab_study"]["image_base_url"]]
            if config.get("ab_study", {}).get("image_base_url")
            else []
        ),
        seed=PLAN.seed,
    threads: 1
    resources:
        mem_mb=PLAN.resource("data", "mem_mb"),
        runtime=PLAN.resource("data", "runtime"),
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.ab kit --frames {input.frames:q} {params.adapted:q} {params.pairs:q} --num {params.num}'
        " --size {params.size[0]} {params.size[1]} --seed {params.seed} {params.base_url:q}"
        " --out {output:q} > {log:q} 2>&1"


rule table1:
    input:
        kit="results/ab_study/kit",
        answers=ab_answers,
    output:
        csv=report("results/tables/table1.csv", caption="../report/table1.rst", category="Tables"),
        md="results/tables/table1.md",
    log:
        "logs/study/table1.log",
    benchmark:
        "results/benchmarks/table1.tsv"
    params:
        answers=PLAN.ab_answers,
    threads: 1
    conda:
        "../envs/sggan.yaml"
    shell:
        '"$PYTHON" -m eval.table1 --kit {input.kit:q} --db {params.answers:q} --out-csv {output.csv:q}'
        " --out-md {output.md:q} > {log:q} 2>&1"
