"""The toy DAG's job breakdown read from a Snakemake log (benchmarks/bench_pipeline.py)."""

from benchmarks.bench_pipeline import critical_path, job_timeline

LOG = """Building DAG of jobs...

[Wed Dec  2 04:51:36 2026]
localrule toy_world:
    output: data/toy/gta, data/toy/cityscapes
    jobid: 8
    resources: tmpdir=/tmp

[Wed Dec  2 04:51:36 2026]
localrule provenance:
    output: results/provenance.json
    jobid: 9
[Wed Dec  2 04:51:40 2026]
Finished jobid: 9 (Rule: provenance)
[Wed Dec  2 04:51:46 2026]
Finished jobid: 8 (Rule: toy_world)

[Wed Dec  2 04:51:46 2026]
rule train:
    input: data/toy/gta/frames.tsv, results/provenance.json
    output: results/model.pt
    jobid: 3
    wildcards: method=a
[Wed Dec  2 04:52:46 2026]
Finished jobid: 3 (Rule: train)

[Wed Dec  2 04:52:46 2026]
localrule table:
    input: results/model.pt, results/provenance.json
    output: results/table.csv
    jobid: 1
[Wed Dec  2 04:52:50 2026]
localrule never_finished:
    output: x
    jobid: 2
[Wed Dec  2 04:52:56 2026]
Finished jobid: 1 (Rule: table)
"""


def test_jobs_with_their_times_and_files():
    jobs = job_timeline(LOG)
    assert [(j["rule"], j["start"], j["end"]) for j in jobs] == [
        ("provenance", 0, 4),
        ("toy_world", 0, 10),
        ("train", 10, 70),
        ("table", 70, 80),
    ]
    assert jobs[2]["wildcards"] == "method=a"
    assert jobs[2]["input"] == ["data/toy/gta/frames.tsv", "results/provenance.json"]


def test_critical_path_follows_the_latest_producer_of_each_input():
    # train waits for toy_world (a file inside its output folder, done at 10 s), not provenance (4 s)
    assert [job["rule"] for job in critical_path(job_timeline(LOG))] == ["toy_world", "train", "table"]


def test_a_benchmark_file_names_its_rule_with_or_without_wildcards(tmp_path):
    from benchmarks.bench_pipeline import benchmarked_rule, stage_seconds

    files = {
        "results/benchmarks/toy_world.tsv": 3.0,  # one job: the rule's own file
        "results/benchmarks/train_frontend/oracle/seed0.tsv": 10.0,
        "results/benchmarks/train_frontend/ideal/seed0.tsv": 20.0,
    }
    for name, seconds in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"s\th:m:s\tcpu_time\n{seconds}\t0:00:00\t1.0\n")
    assert benchmarked_rule(tmp_path, tmp_path / "results/benchmarks/toy_world.tsv") == "toy_world"
    assert stage_seconds(tmp_path) == {"toy_world": 3.0, "train_frontend": 30.0}
