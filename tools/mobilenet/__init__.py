"""Tools that build PyTorch models from TensorFlow graphs for the examples and tests."""
