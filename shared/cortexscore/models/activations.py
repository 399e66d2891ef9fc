"""Layer activations of a PyTorch model, read with forward hooks in one pass over the images.

Layers are named by dotted module path (``features.2``, ``layer1.0.relu``); ``logits`` names
the last leaf module. Each layer's output is flattened per image, so a layer gives a
float32 matrix of shape (n_images, n_features) and feature ``i`` of layer ``L`` of model
``M`` is the neuroid ``"M.L.i"``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from os import PathLike

import numpy as np
import torch

from cortexscore.models.errors import ModelError

LOGITS = "logits"
MIN_FEATURES = 25
DEFAULT_BATCH_SIZE = 64


def neuroid_ids(model_identifier: str, layer: str, n_features: int) -> list[str]:
    """The ``"{model}.{layer}.{index}"`` identifiers of a layer's features.

    Examples
    --------
    >>> neuroid_ids("alexnet", "features.2", 3)
    ['alexnet.features.2.0', 'alexnet.features.2.1', 'alexnet.features.2.2']
    """
    return [f"{model_identifier}.{layer}.{index}" for index in range(n_features)]


def last_leaf_module(model: torch.nn.Module) -> tuple[str, torch.nn.Module]:
    """The module ``logits`` refers to: follow the last registered child down to a leaf.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.ReLU()))
    >>> last_leaf_module(net)[0]
    '1.0'
    """
    names, module = [], model
    while module._modules:
        name = next(reversed(module._modules))
        names.append(name)
        module = module._modules[name]
    return ".".join(names), module


def weights_hash(model: torch.nn.Module) -> str:
    """sha256 over every parameter and buffer (names, dtypes, shapes and bytes).

    Two models with equal weights and architecture names hash the same; any changed weight
    changes the hash. It keys the activations cache.

    Examples
    --------
    >>> import copy
    >>> layer = torch.nn.Linear(2, 2)
    >>> twin = copy.deepcopy(layer)
    >>> weights_hash(layer) == weights_hash(twin)
    True
    >>> _ = twin.bias.data.add_(1)
    >>> weights_hash(layer) == weights_hash(twin)
    False
    """
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes()
                      if tensor.numel() else b"")
    return digest.hexdigest()


class PytorchActivations:
    """Read named layers of a ``torch.nn.Module`` for a list of image files.

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is put in eval mode and run without gradients, on the CPU unless
        :meth:`to` moves it.
    preprocessing : callable
        ``preprocessing(image_paths) -> array`` of shape (n_images, channels, height, width),
        e.g. ``functools.partial(load_preprocess_images, image_size=224)``.
    identifier : str, optional
        The model's name, used in neuroid ids and messages; defaults to the class name.
    batch_size : int
        Images per forward pass (64, as Brain-Score).
    forward_kwargs : dict, optional
        Extra keyword arguments for every ``model(images, **forward_kwargs)`` call.

    Examples
    --------
    >>> import functools, tempfile, pathlib
    >>> from PIL import Image
    >>> from cortexscore.models.preprocessing import load_preprocess_images
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.new("RGB", (8, 8)).save(path)
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(784, 30))
    >>> extractor = PytorchActivations(net, functools.partial(load_preprocess_images, image_size=16), "tiny")
    >>> features = extractor.activations([path, path, path], ["0", "logits"], batch_size=2)
    >>> {layer: values.shape for layer, values in features.items()}
    {'0': (3, 784), 'logits': (3, 30)}
    """

    def __init__(self, model: torch.nn.Module, preprocessing: Callable, identifier: str | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, forward_kwargs: dict | None = None):
        if not isinstance(model, torch.nn.Module):
            raise ModelError(f"the model must be a torch.nn.Module; got {type(model).__name__}. "
                             "Wrap the network itself, not a function that builds it.")
        if not callable(preprocessing):
            raise ModelError(f"preprocessing must be callable as preprocessing(image_paths); "
                             f"got {type(preprocessing).__name__}.")
        self.model = model
        self.preprocessing = preprocessing
        self.identifier = identifier or type(model).__name__
        self.batch_size = batch_size
        self.forward_kwargs = dict(forward_kwargs or {})
        self.device = torch.device("cpu")

    def to(self, device: str | torch.device) -> PytorchActivations:
        """Run forward passes on ``device`` (e.g. ``"cuda:0"``); each batch's features come back to the CPU."""
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    def available_layers(self) -> list[str]:
        """Every dotted module name the model has, in registration order."""
        return [name for name, _ in self.model.named_modules() if name]

    def get_layer(self, layer: str) -> torch.nn.Module:
        """The module a layer name refers to, or a ``ModelError`` listing the valid names."""
        if layer == LOGITS:
            return last_leaf_module(self.model)[1]
        module = self.model
        for part in layer.split("."):
            module = module._modules.get(part) if module is not None else None
        if module is None:
            raise ModelError(
                f"model '{self.identifier}' has no layer '{layer}'. Layers are dotted module names; "
                f"this model has: {', '.join(self.available_layers())} (or '{LOGITS}' for the last one).")
        return module

    def activations(self, image_paths: Sequence[str | PathLike], layers: Sequence[str],
                    batch_size: int | None = None, progress: Callable[[int, int], None] | None = None,
                    min_features: int = MIN_FEATURES,
                    on_batch: Callable[[str, int, np.ndarray], None] | None = None) -> dict[str, np.ndarray]:
        """Features of every requested layer, from one forward pass per batch of images.

        Parameters
        ----------
        image_paths : sequence of path
            Image files, in the order of the rows returned.
        layers : sequence of str
            Dotted module names, or ``logits``.
        batch_size : int, optional
            Images per forward pass; defaults to the extractor's (64).
        progress : callable, optional
            Called as ``progress(done, total)`` after each batch.
        min_features : int
            A layer with fewer features per image is refused (25, as Brain-Score's check).
        on_batch : callable, optional
            Called as ``on_batch(layer, first_row, features)`` with each batch's float32 features of each layer,
            which are then not kept: memory holds one batch, however wide the layers (the scorer writes them
            to disk). The return value is then empty.

        Returns
        -------
        dict of str to numpy.ndarray
            float32 of shape (n_images, n_features) per layer, in the order of ``layers``.
        """
        image_paths = list(image_paths)
        if not image_paths:
            raise ValueError("image_paths is empty; pass at least one image file.")
        layers = list(dict.fromkeys(layers))
        modules = {layer: self.get_layer(layer) for layer in layers}
        batch_size = batch_size or self.batch_size
        total = len(image_paths)
        batches = [image_paths[start:start + batch_size] for start in range(0, total, batch_size)]
        outputs: dict[str, torch.Tensor] = {}
        hooks = [module.register_forward_hook(self._recorder(layer, outputs)) for layer, module in modules.items()]
        features: dict[str, np.ndarray] = {}
        self.model.eval()
        try:
            # Decode and resize the next batch in a thread while torch runs this one
            # (Pillow releases the GIL), so preprocessing hides behind the forward pass.
            with ThreadPoolExecutor(max_workers=1) as pool, torch.no_grad():
                pending = pool.submit(self._preprocess, batches[0])
                done = 0
                for index, batch in enumerate(batches):
                    images = pending.result()
                    if index + 1 < len(batches):
                        pending = pool.submit(self._preprocess, batches[index + 1])
                    outputs.clear()
                    self._forward(images)
                    for layer in layers:
                        flat = self._flatten(layer, outputs.get(layer), len(batch), min_features)
                        self._check_width(features, layer, flat, total if on_batch is None else 0, batch[0])
                        if on_batch is None:
                            features[layer][done:done + len(flat)] = flat
                        else:
                            on_batch(layer, done, flat)
                    outputs.clear()
                    done += len(batch)
                    if progress is not None:
                        progress(done, total)
        finally:
            for hook in hooks:
                hook.remove()
        return features if on_batch is None else {}

    def _check_width(self, features: dict, layer: str, flat: np.ndarray, rows: int, first_path) -> None:
        """Allocate a layer's (rows, n_features) matrix on its first batch; refuse a later batch of another width.

        Streaming keeps ``rows`` = 0: only the width is remembered."""
        if layer not in features:
            features[layer] = np.empty((rows, flat.shape[1]), dtype=np.float32)
        elif flat.shape[1] != features[layer].shape[1]:
            raise ModelError(
                f"layer '{layer}' of model '{self.identifier}' gave {features[layer].shape[1]} features per image "
                f"on earlier images but {flat.shape[1]} on {first_path}; every image must give the same number "
                "(resize images in preprocessing).")

    @staticmethod
    def _recorder(layer: str, outputs: dict):
        def record(_module, _inputs, output):
            # A module called several times in one forward keeps its last output, as Brain-Score.
            outputs[layer] = output
        return record

    def _preprocess(self, paths: list) -> torch.Tensor:
        try:
            images = np.asarray(self.preprocessing(paths))
        except Exception as error:
            raise ModelError(f"preprocessing of model '{self.identifier}' failed on {paths[0]}: "
                             f"{type(error).__name__}: {error}") from error
        if images.ndim < 2 or images.shape[0] != len(paths):
            raise ModelError(
                f"preprocessing of model '{self.identifier}' returned shape {images.shape} for {len(paths)} "
                f"images; it must return one row per image, e.g. ({len(paths)}, 3, 224, 224).")
        return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))

    def _forward(self, images: torch.Tensor) -> None:
        try:
            self.model(images.to(self.device), **self.forward_kwargs)
        except Exception as error:
            where = _failing_module(self.model, error)
            location = f" in layer '{where}'" if where else ""
            raise ModelError(
                f"model '{self.identifier}' raised {type(error).__name__}{location} during forward on a "
                f"batch of shape {tuple(images.shape)}: {error}") from error

    def _flatten(self, layer: str, output, n_images: int, min_features: int) -> np.ndarray:
        if output is None:
            raise ModelError(f"layer '{layer}' of model '{self.identifier}' was never called during forward; "
                             "choose a module that forward() actually uses.")
        if not isinstance(output, torch.Tensor):
            raise ModelError(f"layer '{layer}' of model '{self.identifier}' returned {type(output).__name__}, "
                             "not a tensor; choose a module whose output is one tensor.")
        if output.ndim == 0 or output.shape[0] != n_images:
            raise ModelError(
                f"layer '{layer}' of model '{self.identifier}' returned shape {tuple(output.shape)} for a batch of "
                f"{n_images} images; its first dimension must be the batch ({n_images}).")
        flat = output.detach().reshape(n_images, -1)
        if flat.shape[1] < min_features:
            raise ModelError(
                f"layer '{layer}' of model '{self.identifier}' gives {flat.shape[1]} features per image; "
                f"each layer needs at least {min_features}. Choose a larger layer.")
        return flat.float().cpu().numpy()


def _failing_module(model: torch.nn.Module, error: BaseException) -> str | None:
    """The dotted name of the innermost module of ``model`` whose code raised ``error``."""
    names = {id(module): name for name, module in model.named_modules()}
    found, trace = None, error.__traceback__
    while trace is not None:
        owner = trace.tb_frame.f_locals.get("self")
        if id(owner) in names and names[id(owner)]:
            found = names[id(owner)]
        trace = trace.tb_next
    return found
