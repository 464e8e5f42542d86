"""Submit every job of a dry run through a cluster executor plugin's own code, cluster mocked.

    python tests/cluster_submission.py {slurm,kubernetes} OUT.json SNAKEMAKE-ARGS...

Runs `snakemake SNAKEMAKE-ARGS` (a dry run through a cluster profile) in this process, keeps each
job with the resources Snakemake resolved for it, and hands each job that is not a local rule to
the plugin's `Executor.run_job`, the code that builds the `sbatch` command line (SLURM) or the pod
spec (Kubernetes). Only what talks to a cluster is replaced: `sbatch` and the account check, the
Kubernetes API client, and the upload of the workflow's sources to the storage provider. Writes
one record per job to OUT.json.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import snakemake.api
import snakemake.cli
from snakemake.common.tbdstring import TBDString
from snakemake.executors import dryrun
from snakemake.iocontainers import ResourceList
from snakemake.workflow import SourceArchiveInfo
from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

_seen = {"jobs": [], "executor_settings": None}


def _keep_job(run_job):
    def wrapper(self, job):
        _seen["jobs"].append(job)
        return run_job(self, job)

    return wrapper


def _keep_settings(execute_workflow):
    # a dry run validates against the profile's executor but runs the dry-run one, which gets
    # no executor settings: keep the profile's
    def wrapper(self, *args, **kwargs):
        _seen["executor_settings"] = kwargs.get("executor_settings")
        return execute_workflow(self, *args, **kwargs)

    return wrapper


def _as_remote(job) -> None:
    """Resources evaluated again for remote execution, as a real run does once a job's inputs
    exist. Those that depend on input sizes (disk_mb) are undetermined while the inputs do not
    exist: they get the value of empty inputs, the least a real run would ask for (and their
    human-readable forms, disk and disk_mib, which no plugin reads, are left out)."""
    job._resources = None
    resources = dict(job.resources.items())
    for name, value in resources.items():
        if isinstance(value, TBDString) and name in job.rule.resources:
            resources[name] = (
                job.rule.resources[name]
                .evaluate(
                    job.wildcards,
                    input=SimpleNamespace(size_mb=0, size=0),
                    attempt=job.attempt,
                    threads=job.threads,
                    rulename=job.rule.name,
                    async_run=None,
                )
                .value
            )
    job._resources = ResourceList(fromdict={k: v for k, v in resources.items() if not isinstance(v, TBDString)})


def submit_slurm(workflow, jobs, logger) -> list[dict]:
    import snakemake_executor_plugin_slurm as slurm

    calls = []
    real_popen = subprocess.Popen

    def popen(call, *args, **kwargs):
        if isinstance(call, str) and call.startswith("sbatch "):
            calls.append(call)
            return mock.Mock(returncode=0, communicate=mock.Mock(return_value=(f"{len(calls)}\n", "")))
        return real_popen(call, *args, **kwargs)

    with (
        mock.patch.object(slurm, "validate_account", lambda account, logger: account),
        mock.patch.object(slurm.subprocess, "Popen", popen),
    ):
        executor = slurm.Executor(workflow, logger)
        records = []
        for job in jobs:
            before = len(calls)
            executor.run_job(job)
            assert len(calls) == before + 1, f"no sbatch call for {job}"
            records.append({"rule": job.rule.name, "wildcards": dict(job.wildcards_dict), "sbatch": calls[-1]})
        executor.wait = False
    return records


def submit_kubernetes(workflow, jobs, logger) -> list[dict]:
    bodies = []
    batch_api = mock.Mock()
    batch_api.create_namespaced_job.side_effect = lambda namespace, body: bodies.append(body)
    with (
        mock.patch("kubernetes.config.load_kube_config"),
        mock.patch("kubernetes.client.CoreV1Api"),
        mock.patch("kubernetes.client.BatchV1Api", return_value=batch_api),
    ):
        import snakemake_executor_plugin_kubernetes as kubernetes_plugin

        executor = kubernetes_plugin.Executor(workflow, logger)
        records = []
        for job in jobs:
            executor.run_job(job)
            pod = bodies[-1].spec.template.spec
            container = pod.containers[0]
            records.append(
                {
                    "rule": job.rule.name,
                    "wildcards": dict(job.wildcards_dict),
                    "image": container.image,
                    "requests": container.resources.requests,
                    "limits": container.resources.limits or {},
                    "tolerations": [t.key for t in pod.tolerations or []],
                    "volumes": [m.mount_path for m in container.volume_mounts],
                }
            )
        executor.wait = False
    return records


SUBMITTERS = {"slurm": submit_slurm, "kubernetes": submit_kubernetes}


def main(argv: list[str]) -> int:
    plugin, out, snakemake_args = argv[0], argv[1], argv[2:]
    logger = logging.getLogger("cluster_submission")

    def submit_all_then_shutdown(shutdown):
        def wrapper(self):
            workflow = self.workflow
            # as in a real run: the plugin executes and its settings (the profile's) are set
            workflow._executor_plugin = ExecutorPluginRegistry().get_plugin(plugin)
            workflow.executor_settings = _seen["executor_settings"]
            # stands in for the sources a real run uploads to the storage provider first
            prefix = workflow.storage_settings.default_storage_prefix or ""
            workflow._source_archive = SourceArchiveInfo(f"{prefix}/snakemake-workflow-sources.tar.xz", "0" * 64)
            remote = [job for job in _seen["jobs"] if not job.is_local]
            for job in remote:
                _as_remote(job)
            records = SUBMITTERS[plugin](workflow, remote, logger)
            with open(out, "w") as handle:
                json.dump(records, handle, indent=1)
            return shutdown(self)

        return wrapper

    dryrun.Executor.run_job = _keep_job(dryrun.Executor.run_job)
    dryrun.Executor.shutdown = submit_all_then_shutdown(dryrun.Executor.shutdown)
    snakemake.api.DAGApi.execute_workflow = _keep_settings(snakemake.api.DAGApi.execute_workflow)
    try:
        snakemake.cli.main(["--dry-run", *snakemake_args])
    except SystemExit as done:
        return int(done.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
