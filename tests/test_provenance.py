"""Provenance names the version of every dependency, not just torch and Python."""

from importlib import metadata

import eval.provenance as prov


def test_every_declared_dependency_has_its_installed_version():
    versions = prov.provenance({}, [0], [])["dependencies"]
    for name in ("torch", "torchvision", "numpy", "opencv-python-headless", "cityscapesscripts", "snakemake", "tqdm"):
        assert versions[name] == metadata.version(name), name
    assert "sggan-benchmark" not in versions  # the test extra names the project itself


def test_requirement_strings_reduce_to_names_and_absent_packages_to_none(monkeypatch):
    monkeypatch.setattr(
        prov,
        "_requirements",
        lambda: [
            "numpy>=1.26",
            'playwright>=1.40; extra == "browser"',
            "opencv-python-headless >=4.8",
            "sggan-benchmark[cluster]; extra == 'test'",
            "no-such-package-xyz<2",
        ],
    )
    assert prov.dependency_versions() == {
        "no-such-package-xyz": None,
        "numpy": metadata.version("numpy"),
        "opencv-python-headless": metadata.version("opencv-python-headless"),
        "playwright": metadata.version("playwright"),
    }


def test_an_uninstalled_checkout_reads_its_pyproject(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(prov.metadata, "requires", not_installed)
    names = prov._requirements()
    assert any(r.startswith("torch>=") for r in names)
    assert any(r.startswith("snakemake-executor-plugin-slurm") for r in names)  # extras count too
