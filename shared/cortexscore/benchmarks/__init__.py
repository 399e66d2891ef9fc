"""Benchmark definitions: what data a benchmark uses and how it turns activations into a score."""
from cortexscore.benchmarks.spec import BenchmarkSpec, DataRef, FileRef

__all__ = ["BenchmarkSpec", "DataRef", "FileRef"]
