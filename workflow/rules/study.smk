# Table 1: the human A/B study. The kit (pairs of held-out frames adapted by two translators, left
# and right randomised and recorded, plus the crowd-sourcing batch) is built here; raters answer
# outside Snakemake, in the local app (python -m eval.ab serve) or on a crowd platform whose
# results are imported (python -m eval.ab import); the next run tallies their answers.


rule ab_kit:
    input:
        frames="results/splits/heldout_source.tsv",
        adapted=adapted_frames(AB_METHODS),
    output:
        directory("results/ab_study/kit"),
    log:
        "logs/study/ab_kit.log",
    params:
        adapted=" ".join(f"--adapted {m}={adapted_images(m)}" for m in AB_METHODS),
        pairs=" ".join(f"--pair {p['a']}:{p['b']}" + (f"={p['paper']}" if "paper" in p else "") for p in AB_PAIRS),
        num=AB.get("num_frames", 500),
        size=AB.get("size", [256, 512]),
        base_url=f"--image-base-url {shlex.quote(AB['image_base_url'])}" if AB.get("image_base_url") else "",
    threads: 1
    resources:
        mem_mb=job_resource("data", "mem_mb"),
        runtime=job_resource("data", "runtime"),
    shell:
        "python -m eval.ab kit --frames {input.frames} {params.adapted} {params.pairs} --num {params.num}"
        " --size {params.size[0]} {params.size[1]} --seed {SEED} {params.base_url}"
        " --out {output} 2> {log}"


rule table1:
    input:
        kit="results/ab_study/kit",
        answers=ab_answers,
    output:
        csv=report("results/tables/table1.csv", caption="../report/table1.rst", category="Tables"),
        md="results/tables/table1.md",
    log:
        "logs/study/table1.log",
    params:
        answers=AB_ANSWERS,
    threads: 1
    shell:
        "python -m eval.table1 --kit {input.kit} --db {params.answers} --out-csv {output.csv}"
        " --out-md {output.md} 2> {log}"
