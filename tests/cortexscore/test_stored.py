"""Issue 16: layers kept on disk (StoredMatrix) score exactly as in memory, in memory bounded by a block."""
import functools
import tracemalloc

import numpy as np
import pytest
import torch
from PIL import Image

from cortexscore import stored
from cortexscore.metrics import load_metric
from cortexscore.metrics._assembly import gram_matrix
from cortexscore.models.activations import PytorchActivations
from cortexscore.models.cache import ActivationsCache, ActivationsKey, open_entry, write_entry
from cortexscore.models.commitment import reduce_for_selection
from cortexscore.models.preprocessing import load_preprocess_images
from cortexscore.stored import NpyRowWriter, StoredMatrix
from tests.cortexscore.metrics.assemblies import neural, with_repetitions


def on_disk(tmp_path, values: np.ndarray, name: str = "layer") -> StoredMatrix:
    path = tmp_path / f"{name}.npz"
    write_entry(path, {name: values})
    return open_entry(path)[name]


@pytest.fixture
def layer_and_target():
    rng = np.random.default_rng(0)
    layer = (rng.normal(size=(60, 20_000)) * 3 + 1).astype(np.float32)
    target = layer[:, :40] @ rng.normal(size=(40, 8)) * 0.01 + rng.normal(size=(3, 60, 8))
    return layer, with_repetitions(target)


@pytest.mark.parametrize("metric", ["pls", "ridge", "rdm", "cka"])
def test_a_stored_layer_scores_exactly_as_the_same_layer_in_memory(tmp_path, layer_and_target, metric):
    layer, target = layer_and_target
    in_memory = load_metric(metric)(neural(layer), target)
    from_disk = load_metric(metric)(neural(on_disk(tmp_path, layer)), target)
    assert float(from_disk) == float(in_memory)
    np.testing.assert_array_equal(from_disk.per_split, in_memory.per_split)


def test_selection_pca_of_a_stored_layer_is_the_in_memory_one(tmp_path, layer_and_target):
    layer, _ = layer_and_target
    np.testing.assert_array_equal(reduce_for_selection(on_disk(tmp_path, layer)), reduce_for_selection(layer))
    # Row selections stay on disk and select the same rows.
    rows = np.arange(60) % 3 == 0
    np.testing.assert_array_equal(reduce_for_selection(on_disk(tmp_path, layer)[rows]), reduce_for_selection(layer[rows]))


def test_the_gram_matrix_of_a_stored_layer_takes_a_block_of_memory_not_the_layer(tmp_path):
    layer = np.random.default_rng(1).normal(size=(40, 250_000)).astype(np.float32)  # 40 MB
    values = on_disk(tmp_path, layer)
    expected = gram_matrix(layer)
    del layer
    tracemalloc.start()
    found = gram_matrix(values)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.testing.assert_array_equal(found, expected)
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MiB for a 38 MiB layer"


def test_a_computation_that_needs_a_wide_layer_whole_is_refused_by_name(tmp_path, layer_and_target, monkeypatch):
    layer, target = layer_and_target
    monkeypatch.setattr(stored, "IN_MEMORY_LIMIT_BYTES", 1 << 20)
    with pytest.raises(ValueError, match=r"needs the whole layer in memory.* \d+ stimuli x 20000 features .*'linear'"):
        load_metric("linear")(neural(on_disk(tmp_path, layer)), target)
    assert float(load_metric("pls")(neural(on_disk(tmp_path, layer)), target)) > 0  # Gram-based: no limit


def test_a_stored_layer_with_nan_is_refused_with_the_stimuli_named(tmp_path, layer_and_target):
    layer, target = layer_and_target
    layer = layer.copy()
    layer[7, 12_345] = np.nan
    with pytest.raises(ValueError, match="NaN values at presentations with stimulus_id stim0007 "):
        load_metric("pls")(neural(on_disk(tmp_path, layer)), target)


def test_an_entry_of_stored_layers_is_written_a_row_at_a_time_and_adopted_on_disk(tmp_path):
    layer = np.arange(30, dtype=np.float32).reshape(5, 6)
    source = on_disk(tmp_path, layer, "fc")
    staged_from = tmp_path / "copy.npz"
    write_entry(staged_from, {"fc": source, "small": np.ones((5, 2))})
    cache = ActivationsCache(tmp_path / "cache")
    adopted = cache.adopt(ActivationsKey("zip", "set", "candidates", "placed"), staged_from, rows=5, max_columns=6)
    assert list(adopted) == ["fc", "small"] and all(isinstance(values, StoredMatrix) for values in adopted.values())
    np.testing.assert_array_equal(np.asarray(adopted["fc"]), layer)
    np.testing.assert_array_equal(cache.get(ActivationsKey("zip", "set", "candidates", "placed"))["fc"], layer)


def test_an_entry_larger_than_the_cache_stays_readable_after_it_is_dropped(tmp_path):
    layer = np.arange(300, dtype=np.float32).reshape(10, 30)
    path = tmp_path / "entry.npz"
    write_entry(path, {"fc": layer})
    cache = ActivationsCache(tmp_path / "cache", max_bytes=100)
    adopted = cache.adopt(ActivationsKey("zip", "set", "candidates", "placed"), path)
    assert not path.exists() and cache.size_bytes() == 0
    np.testing.assert_array_equal(adopted["fc"].read_columns(0, 30), layer)


def test_the_row_writer_refuses_a_batch_of_another_width_and_missing_rows(tmp_path):
    writer = NpyRowWriter(tmp_path / "layer.npy", 4)
    writer.write(np.ones((2, 3)))
    with pytest.raises(ValueError, match="a batch of 5 columns after batches of 3"):
        writer.write(np.ones((1, 5)))
    with pytest.raises(ValueError, match="2 rows written to a file of 4"):
        writer.close()


def test_activations_streamed_per_batch_are_those_returned_whole(tmp_path):
    paths = []
    for index in range(5):
        paths.append(tmp_path / f"{index}.png")
        Image.fromarray(np.random.default_rng(index).integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(paths[-1])
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(784, 30))
    extractor = PytorchActivations(net, functools.partial(load_preprocess_images, image_size=16), "tiny")
    whole = extractor.activations(paths, ["0", "logits"], batch_size=2)
    writers = {layer: NpyRowWriter(tmp_path / f"{layer}.npy", len(paths)) for layer in whole}
    assert extractor.activations(paths, ["0", "logits"], batch_size=2,
                                 on_batch=lambda layer, _row, rows: writers[layer].write(rows)) == {}
    for layer, writer in writers.items():
        writer.close()
        np.testing.assert_array_equal(np.load(writer.path), whole[layer])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_activations_on_the_gpu_come_back_to_the_cpu_close_to_the_cpu_ones(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(path)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(784, 30))
    extractor = PytorchActivations(net, functools.partial(load_preprocess_images, image_size=16), "tiny")
    on_cpu = extractor.activations([path, path], ["0", "logits"])
    on_gpu = extractor.to("cuda:0").activations([path, path], ["0", "logits"])
    for layer in on_cpu:
        assert isinstance(on_gpu[layer], np.ndarray) and on_gpu[layer].dtype == np.float32
        np.testing.assert_allclose(on_gpu[layer], on_cpu[layer], rtol=1e-3, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gram_matrices_on_the_gpu_are_the_cpu_ones_to_1e_12(tmp_path, layer_and_target):
    from cortexscore.metrics import _assembly

    layer, target = layer_and_target
    gram_on_cpu, on_cpu = gram_matrix(layer), load_metric("pls")(neural(on_disk(tmp_path, layer)), target)
    _assembly.use_gram_device("cuda:0")
    try:
        np.testing.assert_allclose(gram_matrix(layer), gram_on_cpu, rtol=0, atol=1e-12 * np.abs(gram_on_cpu).max())
        on_gpu = load_metric("pls")(neural(on_disk(tmp_path, layer)), target)
    finally:
        _assembly.use_gram_device(None)
    assert float(on_gpu) == pytest.approx(float(on_cpu), rel=1e-9)
