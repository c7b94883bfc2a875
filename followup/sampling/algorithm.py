"""The draw itself, pure and deterministic: sizes per stratum, the key, the ranking, the digests.

Everything an outsider needs to re-implement is here and in docs/sampling.md (version
ALGORITHM). Ids are 64-bit unsigned integers encoded as 8 bytes big-endian everywhere."""
import hashlib
import hmac
import math
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from fractions import Fraction

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ALGORITHM = "followup-sample-v1"
# Floors set by the commission plan (县级抽查率不低于百分之一，市级不低于千分之一).
RATE_FLOORS = {"county": Fraction(1, 100), "city": Fraction(1, 1000)}
MAX_RATE_DECIMALS = 6
ID_DTYPE = np.dtype(">u8")


def N_(msgid: str) -> str:
    """Marks an English message for extraction into the catalogue; the pages translate it."""
    return msgid


class SamplingError(ValueError):
    """A refusal whose message is a msgid with %(name)s placeholders, so pages can translate it;
    `field` names the form field at fault."""

    def __init__(self, template: str, field: str = "", **params):
        super().__init__(template % params)
        self.template, self.field, self.params = template, field, params


class RateError(SamplingError):
    """A rate that cannot be used (unparseable, not in (0, 1], or below the level's floor)."""


FLOOR_MESSAGES = {
    "county": N_("a county sample must check at least %(floor)s of discharges; %(rate)s is below that"),
    "city": N_("a city sample must check at least %(floor)s of discharges; %(rate)s is below that"),
}


def parse_rate(text: str | float, level: str) -> Fraction:
    """'0.01', '1%', '0.1 %' → an exact fraction, refused below the floor of `level`."""
    raw = str(text).strip().replace("％", "%")
    percent = raw.endswith("%")
    number = raw.rstrip("%").strip()
    try:
        value = Fraction(number)
    except (ValueError, ZeroDivisionError):
        raise RateError(N_("rate %(rate)s is not a number"), "rate", rate=raw) from None
    if "/" in number or "e" in number.lower():
        raise RateError(N_("rate %(rate)s: write a decimal such as 0.01 or 1%%"), "rate", rate=raw)
    if percent:
        value /= 100
    if value * 10 ** MAX_RATE_DECIMALS != int(value * 10 ** MAX_RATE_DECIMALS):
        raise RateError(N_("rate %(rate)s has more than %(n)s decimal places"), "rate", rate=raw,
                        n=MAX_RATE_DECIMALS)
    if not 0 < value <= 1:
        raise RateError(N_("rate %(rate)s must be above 0 and at most 100%%"), "rate", rate=raw)
    floor = RATE_FLOORS[level]
    if value < floor:
        raise RateError(FLOOR_MESSAGES[level], "rate", floor=format_percent(floor), rate=format_percent(value))
    return value


def format_rate(rate: Fraction) -> str:
    """The canonical stored form: a plain decimal without trailing zeros ('0.01')."""
    text = f"{float(rate):.{MAX_RATE_DECIMALS}f}".rstrip("0").rstrip(".")
    if Fraction(text) != rate:
        raise ValueError(f"rate {rate} has more than {MAX_RATE_DECIMALS} decimal places")
    return text


def format_percent(rate: Fraction) -> str:
    return f"{float(rate * 100):.4f}".rstrip("0").rstrip(".") + "%"


def sample_size(rate: Fraction, population: int) -> int:
    """ceil(rate × N) in exact arithmetic: every stratum, and so the total, is at or above the
    rate, and a hospital with any eligible discharge gets at least one call."""
    return math.ceil(Fraction(rate) * population)


def normalise_public_seed(public_seed: str) -> str:
    """NFC, surrounding spaces removed: the same lottery number typed twice is the same seed."""
    return unicodedata.normalize("NFC", public_seed).strip()


def derive_key(system_seed: bytes, public_seed: str) -> bytes:
    """K = HMAC-SHA256(system_seed, "followup-sample-v1" 0x00 UTF-8(public seed)): 32 bytes,
    unknowable before the draw (the system half) and not chosen by the system alone (the public
    half)."""
    msg = ALGORITHM.encode() + b"\x00" + normalise_public_seed(public_seed).encode("utf-8")
    return hmac.new(system_seed, msg, hashlib.sha256).digest()


def rank_keys(key: bytes, hospital_id: int, ids: np.ndarray) -> np.ndarray:
    """AES-256_K(hospital id ‖ record id) per record, as an (n, 2) array of big-endian uint64
    halves: the rank, compared as one unsigned 128-bit number. AES is a keyed permutation, so
    distinct records never tie."""
    blocks = np.empty((len(ids), 2), dtype=ID_DTYPE)
    blocks[:, 0] = hospital_id
    blocks[:, 1] = ids
    # ECB here is AES applied to independent 16-byte inputs (a keyed PRF), not encryption of a
    # message: there is nothing to hide, and each block must be ranked on its own.
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # nosec B305
    out = enc.update(blocks.tobytes()) + enc.finalize()
    return np.frombuffer(out, dtype=ID_DTYPE).reshape(-1, 2)


def draw_stratum(key: bytes, hospital_id: int, ids: np.ndarray, k: int) -> np.ndarray:
    """The k ids of lowest rank, in rank order."""
    if k <= 0 or len(ids) == 0:
        return np.empty(0, dtype=np.uint64)
    ranks = rank_keys(key, hospital_id, ids)
    hi = ranks[:, 0].astype(np.uint64)
    if k < len(ids):
        # Only candidates whose high half is at or below the k-th smallest can be in the sample.
        kth = np.partition(hi, k - 1)[k - 1]
        candidates = np.nonzero(hi <= kth)[0]
    else:
        candidates = np.arange(len(ids))
    lo = ranks[candidates, 1].astype(np.uint64)
    order = np.lexsort((lo, hi[candidates]))[:k]
    return np.asarray(ids, dtype=np.uint64)[candidates[order]]


def encode_ids(ids) -> bytes:
    return np.asarray(ids, dtype=np.uint64).astype(ID_DTYPE).tobytes()


def decode_ids(blob: bytes) -> np.ndarray:
    if len(blob) % 8:
        raise ValueError("frozen population length is not a multiple of 8 bytes")
    return np.frombuffer(blob, dtype=ID_DTYPE).astype(np.uint64)


def stratum_digest(encoded_ids: bytes) -> str:
    return hashlib.sha256(encoded_ids).hexdigest()


def combined_digest(parts) -> str:
    """SHA-256 over, per stratum in ascending hospital id: hospital id (8 bytes) ‖ count
    (8 bytes) ‖ the 32-byte digest of that stratum's ids. Used for both population and sample."""
    h = hashlib.sha256()
    for hospital_id, count, hex_digest in sorted(parts):
        h.update(hospital_id.to_bytes(8, "big") + count.to_bytes(8, "big") + bytes.fromhex(hex_digest))
    return h.hexdigest()


@dataclass(frozen=True)
class StratumDraw:
    hospital_id: int
    population: np.ndarray   # ascending ids
    sample: np.ndarray       # ids in rank order

    @cached_property
    def encoded_population(self) -> bytes:
        """The frozen form: 8-byte big-endian ids, ascending (80 MB for a 10M city: build once)."""
        return encode_ids(self.population)

    @cached_property
    def population_digest(self) -> str:
        return stratum_digest(self.encoded_population)


def draw(strata: dict[int, np.ndarray], rate: Fraction, key: bytes) -> list[StratumDraw]:
    """The whole draw: strata maps hospital id → its eligible ids (any order, no duplicates)."""
    out = []
    for hospital_id in sorted(strata):
        ids = np.sort(np.asarray(strata[hospital_id], dtype=np.uint64))
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            raise ValueError(f"hospital {hospital_id}: duplicate ids in the population")
        k = sample_size(rate, len(ids))
        out.append(StratumDraw(hospital_id, ids, draw_stratum(key, hospital_id, ids, k)))
    return out


def population_digest_of(draws: list[StratumDraw]) -> str:
    return combined_digest((d.hospital_id, len(d.population), d.population_digest) for d in draws)


def sample_digest_of(samples: dict[int, list[int]]) -> str:
    """Digest of the sample: per stratum its ids in rank order (order matters: it is the call
    order and part of what is verified)."""
    return combined_digest((h, len(ids), stratum_digest(encode_ids(ids))) for h, ids in samples.items())
