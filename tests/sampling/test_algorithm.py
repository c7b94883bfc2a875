"""The draw algorithm on its own: sizes, floors, determinism, uniformity (F13)."""
import hashlib
import hmac
import math
from fractions import Fraction

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.sampling import algorithm as alg

SEED = bytes(range(32))


def key(public="2026001"):
    return alg.derive_key(SEED, public)


@pytest.mark.parametrize("n,rate,expected", [
    (0, "0.01", 0), (1, "0.01", 1), (99, "0.01", 1), (100, "0.01", 1), (101, "0.01", 2),
    (250, "0.01", 3), (1, "0.001", 1), (1000, "0.001", 1), (1001, "0.001", 2),
    (100, "0.07", 7), (3, "0.333333", 1), (7, "1", 7), (10, "0.15", 2),
])
def test_sample_size_is_ceil_of_rate_times_n_in_exact_arithmetic(n, rate, expected):
    # 0.07 × 100 is 7.000000000000001 in floats; the exact fraction gives 7, not 8.
    assert alg.sample_size(Fraction(rate), n) == expected


def test_every_stratum_and_the_total_are_at_or_above_the_rate_including_tiny_hospitals():
    strata = {1: np.arange(1, 3), 2: np.arange(10, 11), 3: np.array([], dtype=np.uint64),
              4: np.arange(100, 100 + 333), 5: np.arange(1000, 1000 + 1999)}
    draws = alg.draw(strata, Fraction(1, 100), key())
    sizes = {d.hospital_id: len(d.sample) for d in draws}
    assert sizes == {1: 1, 2: 1, 3: 0, 4: 4, 5: 20}
    total_n = sum(len(v) for v in strata.values())
    assert sum(sizes.values()) >= Fraction(1, 100) * total_n
    for d in draws:
        assert len(d.sample) >= Fraction(1, 100) * len(d.population)
        assert set(d.sample.tolist()) <= set(d.population.tolist())


@pytest.mark.parametrize("level,ok,refused", [("county", ["0.01", "1%", "2.5%", "1"], ["0.0099", "0.9%", "0.1%"]),
                                              ("city", ["0.001", "0.1%", "0.01"], ["0.0009", "0.09%"])])
def test_rates_below_the_floor_are_refused_with_a_clear_message(level, ok, refused):
    for text in ok:
        assert alg.parse_rate(text, level) >= alg.RATE_FLOORS[level]
    for text in refused:
        with pytest.raises(alg.RateError, match="at least"):
            alg.parse_rate(text, level)


@pytest.mark.parametrize("text", ["", "abc", "0", "-1%", "101%", "1.5", "1/100", "1e-2", "0.0100001"])
def test_unusable_rates_are_refused(text):
    with pytest.raises(alg.RateError):
        alg.parse_rate(text, "county")


def test_rate_is_stored_as_a_plain_decimal():
    assert alg.format_rate(alg.parse_rate("1%", "county")) == "0.01"
    assert alg.format_rate(alg.parse_rate("0.125%", "city")) == "0.00125"


def test_same_seed_and_population_give_the_identical_sample_and_another_seed_another():
    strata = {7: np.arange(1, 5001, dtype=np.uint64)}
    a = alg.draw(strata, Fraction(1, 100), key("A"))[0].sample.tolist()
    b = alg.draw({7: np.arange(5000, 0, -1)}, Fraction(1, 100), key("A"))[0].sample.tolist()
    c = alg.draw(strata, Fraction(1, 100), key("B"))[0].sample.tolist()
    d = alg.draw(strata, Fraction(1, 100), alg.derive_key(bytes(32), "A"))[0].sample.tolist()
    assert a == b  # input order does not matter
    assert a != c and a != d and len(a) == len(c) == 50


def test_public_seed_is_normalised_before_use():
    assert alg.derive_key(SEED, " 2026001 ") == alg.derive_key(SEED, "2026001")
    assert alg.derive_key(SEED, "e\u0301") == alg.derive_key(SEED, "\u00e9")


def test_the_documented_algorithm_reimplemented_without_numpy_gives_the_same_sample():
    """docs/sampling.md, followed literally with the standard library and an AES primitive."""
    system_seed, public = bytes.fromhex("11" * 32), "双色球 2026137"
    k_doc = hmac.new(system_seed, b"followup-sample-v1\x00" + public.encode("utf-8"), hashlib.sha256).digest()
    assert k_doc == alg.derive_key(system_seed, public)
    ids, hospital = list(range(3, 3000, 7)), 42
    aes = Cipher(algorithms.AES(k_doc), modes.ECB()).encryptor()
    rank = {i: aes.update(hospital.to_bytes(8, "big") + i.to_bytes(8, "big")) for i in ids}
    k = math.ceil(Fraction("0.01") * len(ids))
    expected = sorted(ids, key=lambda i: rank[i])[:k]
    got = alg.draw({hospital: np.array(ids)}, Fraction("0.01"), k_doc)[0]
    assert got.sample.tolist() == expected
    assert got.population_digest == hashlib.sha256(b"".join(i.to_bytes(8, "big") for i in ids)).hexdigest()
    pop_digest = hashlib.sha256(hospital.to_bytes(8, "big") + len(ids).to_bytes(8, "big")
                                + bytes.fromhex(got.population_digest)).hexdigest()
    assert alg.population_digest_of([got]) == pop_digest


def test_duplicate_ids_in_a_population_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        alg.draw({1: np.array([5, 5, 6])}, Fraction(1, 100), key())


@settings(max_examples=1000, deadline=None)
@given(n=st.integers(min_value=0, max_value=10**6), level=st.sampled_from(["county", "city"]),
       seed=st.binary(min_size=32, max_size=32))
def test_property_size_subset_no_duplicates_and_determinism_over_n(n, level, seed):
    """F13: n = ceil(rate·N) at the floor rate, ≥ 1 when N > 0, sample ⊆ population, no
    duplicates, the same seed gives the same sample. Ids are sparse so the sample is not a
    trivial prefix; large N is drawn from a contiguous block to keep 1,000 examples fast."""
    rate = alg.RATE_FLOORS[level]
    ids = np.arange(1, n + 1, dtype=np.uint64) * 3
    k = alg.sample_size(rate, n)
    assert k == math.ceil(rate * n) and (k >= 1) == (n > 0)
    kk = alg.derive_key(seed, "p")
    sample = alg.draw_stratum(kk, 9, ids, k)
    assert len(sample) == k == len(set(sample.tolist()))
    assert np.all(np.isin(sample, ids))
    assert np.array_equal(sample, alg.draw_stratum(kk, 9, ids, k))


# Chi-square with a fixed significance over a fixed set of seeds: deterministic, cannot flake.
CHI2_CRITICAL_DF99_P001 = 148.230  # upper 0.1% point of χ² with 99 degrees of freedom (tables)


def test_inclusion_is_uniform_within_strata_chi_square():
    """10,000 draws with seeds 0..9999 from one population of two strata (100 and 50 records,
    rate 5% → 5 and 3 per draw): each record's inclusion count fits the uniform expectation."""
    strata = {1: np.arange(1, 101, dtype=np.uint64), 2: np.arange(1001, 1051, dtype=np.uint64)}
    counts = {1: np.zeros(100), 2: np.zeros(50)}
    for s in range(10_000):
        for d in alg.draw(strata, Fraction(5, 100), alg.derive_key(s.to_bytes(32, "big"), "public")):
            counts[d.hospital_id][np.searchsorted(d.population, d.sample)] += 1
    for hospital_id, crit in ((1, CHI2_CRITICAL_DF99_P001), (2, 85.351)):  # df 49 for stratum 2
        observed = counts[hospital_id]
        expected = observed.sum() / len(observed)
        chi2 = float(((observed - expected) ** 2 / expected).sum())
        assert chi2 < crit, (hospital_id, chi2)
    assert counts[1].sum() == 5 * 10_000 and counts[2].sum() == 3 * 10_000
