"""Shared fixtures for the richness tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Small matmuls on a shared 2-core machine run ~10x faster on one thread than on two contended ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
