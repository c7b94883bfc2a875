"""The benchmarks' one percentile is nearest-rank: always a measured sample, never interpolated."""
import math

from bench.percentile import percentile


def test_the_percentile_is_the_smallest_sample_with_p_percent_at_or_below_it():
    samples = [7, 1, 10, 3, 9, 2, 8, 4, 6, 5]  # 1..10, unsorted
    assert percentile(samples, 50) == 5
    assert percentile(samples, 90) == 9
    assert percentile(samples, 91) == 10
    assert percentile(samples, 99) == 10  # with 10 samples the p99 is the maximum
    assert percentile(list(range(1, 201)), 99) == 198
    assert percentile([2.5, 0.5], 50) == 0.5  # a sample, not the mean of the two


def test_no_samples_give_nan():
    assert math.isnan(percentile([], 99))
