"""sessionkit's benchmarks: ``make bench`` (``python -m benchmarks.run``)."""
