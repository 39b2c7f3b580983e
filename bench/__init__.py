"""The Sigwise benchmark (issue 5): ``make bench`` and ``make bench-quick``. See docs/benchmarks.md."""
