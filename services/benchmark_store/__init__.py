"""benchmark_store."""
