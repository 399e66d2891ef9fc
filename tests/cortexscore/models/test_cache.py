from __future__ import annotations

import copy
import os

import numpy as np
import pytest

from tests.cortexscore.models.helpers import CountingNet
from cortexscore.models.activations import PytorchActivations
from cortexscore.models.cache import ActivationsCache, ActivationsKey, model_fingerprint, placement_tag, write_entry
from cortexscore.models.committed_model import CommittedModel


@pytest.fixture
def model(preprocessing16):
    return CommittedModel("counting", PytorchActivations(CountingNet(), preprocessing16, "counting"),
                          layers=["features.1", "logits"])


def forward_calls(model) -> int:
    return model.activations_model.model.forward_calls


def test_benchmarks_sharing_a_stimulus_set_run_the_forward_pass_once(tmp_path, model, image_paths):
    cache = ActivationsCache(tmp_path / "cache")
    placement = placement_tag(8, 8)
    first = cache.activations(model, image_paths, model.layers, "set-sha", placement, batch_size=2)
    assert forward_calls(model) == 3
    second = cache.activations(model, image_paths, model.layers, "set-sha", placement, batch_size=2)
    assert forward_calls(model) == 3
    for layer in model.layers:
        np.testing.assert_array_equal(first[layer], second[layer])


def test_only_missing_layers_are_computed_and_other_sets_or_placements_miss(tmp_path, model, image_paths):
    cache = ActivationsCache(tmp_path / "cache")
    cache.activations(model, image_paths, ["logits"], "set-sha", placement_tag(8, 8))
    both = cache.activations(model, image_paths, ["features.1", "logits"], "set-sha", placement_tag(8, 8))
    assert forward_calls(model) == 2 and list(both) == ["features.1", "logits"]
    cache.activations(model, image_paths, ["logits"], "other-set", placement_tag(8, 8))
    cache.activations(model, image_paths, ["logits"], "set-sha", placement_tag(8, 4))
    assert forward_calls(model) == 4


def test_fingerprint_follows_weights_and_code(model):
    twin = copy.deepcopy(model)
    assert model_fingerprint(model) == model_fingerprint(twin)
    twin.activations_model.model.classifier[1].bias.data += 1
    assert model_fingerprint(model) != model_fingerprint(twin)


def test_least_recently_used_entries_are_evicted_first(tmp_path):
    entry = np.zeros((10, 25), dtype=np.float32)  # 1000 bytes of data plus the .npz headers
    cache = ActivationsCache(tmp_path, max_bytes=3 * 1600)
    keys = [ActivationsKey("m", "s", f"layer{i}", "p") for i in range(4)]
    for age, key in enumerate(keys[:3]):
        cache.put(key, {key.layers: entry})
        path = cache._path(key)
        os.utime(path, ns=(age * 10**9, age * 10**9))
    assert cache.get(keys[0]) is not None  # the oldest becomes the most recent
    cache.put(keys[3], {"layer3": entry})
    assert [cache.get(key) is not None for key in keys] == [True, False, True, True]
    assert cache.size_bytes() <= cache.max_bytes


def test_entry_larger_than_the_cap_is_not_stored(tmp_path):
    cache = ActivationsCache(tmp_path, max_bytes=100)
    key = ActivationsKey("m", "s", "l", "p")
    cache.put(key, {"l": np.zeros((10, 25), dtype=np.float32)})
    assert cache.get(key) is None and cache.size_bytes() == 0


def test_an_entry_keeps_its_layers_in_order_and_a_truncated_file_reads_as_a_miss(tmp_path):
    cache = ActivationsCache(tmp_path)
    key = ActivationsKey("zip-and-model", "s", "candidates", "stimulus8deg")
    features = {"relu2": np.ones((3, 30), dtype=np.float32), "conv1": np.arange(90.0).reshape(3, 30)}
    cache.put(key, features)
    found = cache.get(key)
    assert list(found) == ["relu2", "conv1"] and found["conv1"].dtype == np.float32
    np.testing.assert_array_equal(found["conv1"], features["conv1"])
    path = cache._path(key)
    path.write_bytes(path.read_bytes()[:100])
    assert cache.get(key) is None


def test_adopting_a_written_entry_moves_it_in_without_rewriting(tmp_path):
    features = {"relu1": np.arange(6, dtype=np.float32).reshape(2, 3), "fc": np.ones((2, 4), dtype=np.float32)}
    written = tmp_path / "child" / "stimuli.npz"
    written.parent.mkdir()
    write_entry(written, features)
    inode = written.stat().st_ino
    cache = ActivationsCache(tmp_path / "cache")
    key = ActivationsKey("zip", "set", "candidates", "stimulus8deg")
    adopted = cache.adopt(key, written)
    assert not written.exists() and cache._path(key).stat().st_ino == inode
    assert list(adopted) == ["relu1", "fc"] and np.array_equal(adopted["relu1"], features["relu1"])
    assert list(cache.get(key)) == ["relu1", "fc"]


@pytest.mark.parametrize("content, problem", [
    (b"not a zip at all", "not a readable activations file"),
    ({"layer0": np.ones((2, 3), dtype=np.float32)}, "not a readable activations file"),  # no __layers__
    ({"__layers__": np.array(["a"]), "layer0": np.ones((2, 3))}, "float64 with shape .*; layers are 2-D float32"),
    ({"__layers__": np.array(["a", "b"]), "layer0": np.ones((2, 3), dtype=np.float32),
      "layer1": np.ones((3, 3), dtype=np.float32)}, "must hold 2-D float32 layers"),
    ({"__layers__": np.array(["a"]), "layer0": np.array([object()], dtype=object)}, "not a readable"),
])
def test_an_untrusted_entry_file_is_refused_with_a_reason(tmp_path, content, problem):
    path = tmp_path / "stimuli.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.savez(path, **content)
    cache = ActivationsCache(tmp_path / "cache")
    with pytest.raises(ValueError, match=problem):
        cache.adopt(ActivationsKey("zip", "set", "candidates", "placed"), path)
    assert cache.size_bytes() == 0


def test_a_compressed_entry_is_refused_before_it_is_expanded(tmp_path):
    """A deflate bomb: 400 MB of zeros compress to a few hundred kB; the header check refuses it unread."""
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, __layers__=np.array(["fc"]), layer0=np.zeros((10_000, 10_000), dtype=np.float32))
    assert path.stat().st_size < 1 << 20
    cache = ActivationsCache(tmp_path / "cache")
    with pytest.raises(ValueError, match="is compressed; entries must be stored uncompressed"):
        cache.adopt(ActivationsKey("zip", "set", "candidates", "placed"), path)
    assert not path.exists() and cache.size_bytes() == 0


@pytest.mark.parametrize("rows, max_columns, problem", [
    (3, None, "has 2 rows; the stimulus set has 3 images"),
    (2, 2, "has 3 features, over the limit of 2"),
])
def test_an_entry_of_the_wrong_size_is_refused_from_its_headers(tmp_path, rows, max_columns, problem):
    path = tmp_path / "stimuli.npz"
    write_entry(path, {"fc": np.ones((2, 3), dtype=np.float32)})
    with pytest.raises(ValueError, match=problem):
        ActivationsCache(tmp_path / "cache").adopt(ActivationsKey("z", "s", "c", "p"), path, rows=rows,
                                                   max_columns=max_columns)


def test_a_signed_cache_ignores_forged_and_swapped_entries(tmp_path):
    from cortexscore.signing import FileSigner

    cache = ActivationsCache(tmp_path / "cache", signer=FileSigner(b"k" * 32))
    victim, other = ActivationsKey("victim", "set", "c", "p"), ActivationsKey("other", "set", "c", "p")
    cache.put(victim, {"fc": np.ones((2, 3), dtype=np.float32)})
    cache.put(other, {"fc": np.zeros((2, 3), dtype=np.float32)})
    assert cache.get(victim)["fc"].sum() == 6
    # Overwritten in place, as a sandbox escape once did: the tag no longer matches, so it is a miss.
    write_entry(cache._path(victim), {"fc": np.full((2, 3), 7, dtype=np.float32)})
    assert cache.get(victim) is None
    # Another entry's file and tag moved over the victim's: the tag binds the key, so it is a miss too.
    from shutil import copyfile
    copyfile(cache._path(other), cache._path(victim))
    copyfile(FileSigner.mac_path(cache._path(other)), FileSigner.mac_path(cache._path(victim)))
    assert cache.get(victim) is None
    # Unsigned by a cache with another key: a miss.
    assert ActivationsCache(tmp_path / "cache", signer=FileSigner(b"x" * 32)).get(other) is None
    assert cache.get(other)["fc"].sum() == 0
