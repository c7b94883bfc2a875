"""The one percentile every benchmark prints: nearest-rank (the p-th percentile is the smallest
sample with at least p% of the samples at or below it), the usual definition for latency: the
figure is always a time that was actually measured, never an interpolation between two.

With n samples the p99 is the maximum until n > 100 (ceil(0.99 * n) = n): the benchmarks say how
many samples stand behind each figure."""
import math


def percentile(values, p: float) -> float:
    """Nearest-rank p-th percentile (0 < p <= 100) of values, in their unit; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))  # 1-based
    return ordered[min(len(ordered), max(1, rank)) - 1]
