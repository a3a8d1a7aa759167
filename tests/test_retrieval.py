"""Exact top-k with ties broken by gallery position (SPEC section 5)."""
import numpy as np
import pytest
import torch

from odbench.retrieval import normalize, top_k


def brute_force(queries: torch.Tensor, gallery: torch.Tensor, k: int) -> np.ndarray:
    """Reference: per query, a stable sort on (-score, index) in float32."""
    scores = (queries.float() @ gallery.float().T).numpy()
    return np.stack([np.lexsort((np.arange(len(row)), -row))[:k] for row in scores])


def test_hand_example_with_ties():
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    gallery = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    # query 0 scores: 0, 1, 1, 0, .6 -> the two 1s by position, then .6, then the two 0s.
    assert top_k(queries, gallery, 5)[0].tolist() == [1, 2, 4, 0, 3]
    assert top_k(queries, gallery, 2)[1].tolist() == [0, 3]
    assert top_k(queries, gallery, 1)[2].tolist() == [4]


def test_all_equal_scores_rank_by_position():
    gallery = torch.ones(50, 4)
    result = top_k(torch.ones(3, 4), gallery, 10)
    assert result.tolist() == [list(range(10))] * 3


def test_ties_beyond_what_topk_returns():
    # 20 items tie at the k-th score: exactly the lowest-indexed ones must fill the list.
    gallery = torch.zeros(40, 2)
    gallery[:, 0] = 1.0
    gallery[[5, 30], 0] = 2.0  # two strict winners
    result = top_k(torch.tensor([[1.0, 0.0]]), gallery, 4)
    assert result.tolist() == [[5, 30, 0, 1]]


def test_gallery_smaller_than_k():
    result = top_k(torch.eye(3), torch.eye(3)[:2], 10)
    assert result.shape == (3, 2) and result.dtype == np.int64
    assert result.tolist() == [[0, 1], [1, 0], [0, 1]]


def test_empty_inputs():
    assert top_k(torch.zeros(0, 4), torch.ones(5, 4), 3).shape == (0, 3)
    assert top_k(torch.ones(2, 4), torch.zeros(0, 4), 3).shape == (2, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_with_many_duplicate_scores(seed):
    # Small integer vectors: exact float32 dot products with many repeated values.
    g = torch.Generator().manual_seed(seed)
    queries = torch.randint(-2, 3, (37, 6), generator=g).float()
    gallery = torch.randint(-2, 3, (211, 6), generator=g).float()
    for k in (1, 7, 50, 211, 500):
        expected = brute_force(queries, gallery, k)
        assert np.array_equal(top_k(queries, gallery, k), expected), k


def test_chunked_equals_unchunked():
    g = torch.Generator().manual_seed(3)
    queries = torch.randint(-3, 4, (64, 8), generator=g).float()
    gallery = torch.randint(-3, 4, (300, 8), generator=g).float()
    whole = top_k(queries, gallery, 25)
    for chunk, gchunk in [(1, 300), (7, 300), (64, 13), (5, 1), (1000, 100)]:
        assert np.array_equal(top_k(queries, gallery, 25, chunk_size=chunk, gallery_chunk_size=gchunk), whole)
    assert np.array_equal(whole, brute_force(queries, gallery, 25))


def test_random_float_embeddings():
    g = torch.Generator().manual_seed(4)
    queries = normalize(torch.randn(20, 16, generator=g))
    gallery = normalize(torch.randn(120, 16, generator=g))
    assert np.array_equal(top_k(queries, gallery, 10), brute_force(queries, gallery, 10))


def test_scores_are_float32_even_for_half_inputs():
    queries = torch.tensor([[1.0, 0.0]], dtype=torch.float16)
    gallery = torch.tensor([[0.5, 0.0], [1.0, 0.0]], dtype=torch.bfloat16)
    assert top_k(queries, gallery, 2).tolist() == [[1, 0]]


def test_normalize():
    x = normalize(torch.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=torch.float64))
    assert x.dtype == torch.float32
    assert torch.allclose(x, torch.tensor([[0.6, 0.8], [0.0, 0.0]]))


def test_bad_arguments():
    with pytest.raises(ValueError):
        top_k(torch.ones(2, 3), torch.ones(2, 4), 1)
    with pytest.raises(ValueError):
        top_k(torch.ones(2, 3), torch.ones(2, 3), 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU (compares top_k on the GPU with the CPU)")
def test_cuda_matches_cpu():
    g = torch.Generator().manual_seed(5)
    queries = torch.randint(-2, 3, (50, 6), generator=g).float()
    gallery = torch.randint(-2, 3, (400, 6), generator=g).float()
    assert np.array_equal(top_k(queries, gallery, 30, device="cuda"), top_k(queries, gallery, 30))


def test_tie_at_the_kth_place_within_the_candidates():
    # Three duplicates of the 2nd-best item (as identical captions give): the list takes the
    # lowest-indexed ones, whatever order torch.topk returned them in.
    gallery = torch.zeros(100, 2)
    gallery[:, 0] = torch.linspace(0.0, 0.5, 100)
    gallery[[70, 20, 90], 0] = 0.9
    gallery[55, 0] = 1.0
    assert top_k(torch.tensor([[1.0, 0.0]]), gallery, 3).tolist() == [[55, 20, 70]]


def test_nan_scores_rank_last():
    gallery = torch.tensor([[1.0, 0.0], [float("nan"), 0.0], [0.5, 0.0], [0.2, 0.0]])
    assert top_k(torch.tensor([[1.0, 0.0]]), gallery, 4).tolist() == [[0, 2, 3, 1]]
    assert top_k(torch.tensor([[1.0, 0.0]]), gallery, 2).tolist() == [[0, 2]]


@pytest.mark.parametrize("seed", [0, 1])
def test_rows_with_and_without_boundary_ties_in_one_chunk(seed):
    # Each query ties at its k-th place with a different number of items (0 to 30): rows that
    # the candidates settle and rows that need the full pass are mixed in one chunk.
    g = torch.Generator().manual_seed(seed)
    gallery = normalize(torch.randn(400, 8, generator=g))
    copies = torch.randint(0, 31, (24,), generator=g)
    rows = [gallery[torch.randint(0, 400, (int(n),), generator=g)] for n in copies]
    gallery = torch.cat([gallery, *rows])
    queries = torch.cat([normalize(torch.randn(24, 8, generator=g)), gallery[400:424]])
    for k in (1, 10, 17):
        assert np.array_equal(top_k(queries, gallery, k, gallery_chunk_size=137), brute_force(queries, gallery, k)), k
