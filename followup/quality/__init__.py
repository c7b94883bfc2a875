"""Call quality control (质控抽查): the monthly sample of each caller's completed calls
(`sample.py`) and QA's review of each, with the results for the monthly summary (`review.py`)."""
