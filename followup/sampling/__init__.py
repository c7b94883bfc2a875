"""Commission audit sampling (第三方随机抽查): population, draw, verify, discrepancy.

algorithm.py and discrepancy.py are pure; population/draw/verify/calls/report work over the
database session and flush, never commit. The algorithm is specified in docs/sampling.md."""
