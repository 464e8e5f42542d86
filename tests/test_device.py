import pytest
import torch

from sggan.device import claim_slot, resolve_device


def test_concurrent_claims_get_distinct_cards(tmp_path):
    first = claim_slot(2, tmp_path, wait=False)
    second = claim_slot(2, tmp_path, wait=False)
    assert {first, second} == {0, 1}
    with pytest.raises(RuntimeError, match="all 2 GPUs are held"):
        claim_slot(2, tmp_path, wait=False)


def test_cpu_and_auto_without_cuda():
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")
