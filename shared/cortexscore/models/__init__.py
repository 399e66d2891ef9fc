"""Brain models: turn a user's network into something that looks at stimuli like a brain region.

The pieces, from the bottom up:

- :mod:`~cortexscore.models.preprocessing`: image loading and ImageNet normalisation (Pillow, numpy);
- :mod:`~cortexscore.models.placement`: stimuli placed at the model's visual degrees;
- :mod:`~cortexscore.models.activations`: layer features from forward hooks;
- :mod:`~cortexscore.models.brain_model`: the ``BrainModel`` interface benchmarks call;
- :mod:`~cortexscore.models.committed_model`: a ``BrainModel`` built from an activations model
  and candidate layers (Brain-Score's ``ModelCommitment``);
- :mod:`~cortexscore.models.commitment`: layer selection helpers;
- :mod:`~cortexscore.models.readout`: the behavioural readout (scaler + logistic regression);
- :mod:`~cortexscore.models.cache`: the on-disk activations cache (content-addressed, LRU);
- :mod:`~cortexscore.models.submission`: loading a user's submission folder;
- :mod:`~cortexscore.models.check`: the local "ready to submit" run.
"""
from cortexscore.models.errors import ModelError

# Plugin-layout submissions register their models here (``brainscore_vision.model_registry``
# in the compatibility shim is this same dict): name -> zero-argument function returning a BrainModel.
model_registry: dict = {}

__all__ = ["ModelError", "model_registry"]
