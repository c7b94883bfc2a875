"""Imports: HIS files (CSV, xlsx), HL7 v2 ADT^A03 and FHIR R4 bundles in, discharges and their
follow-up tasks out. No Flask imports below `run.py`'s app config.

Module map, in the order a payload goes through it:

- `batches.py`  receiving: one batch per distinct payload (kept encrypted until it finishes; a failed
                batch's bytes sent again are a new try), API tokens, column and code mappings.
- readers       one `Source` per kind (`sources.py`), streamed and bounded:
                `tables.py` CSV (encoding ladder, field size) and xlsx (read_only, shared strings on
                disk, zip-bomb and string-count limits); `headers.py` column names → our fields;
                `hl7v2.py` messages one at a time (segment and message size limits);
                `fhir.py` the Bundle entry by entry with ijson (nesting depth limit).
                The source's decoder maps a hospital's own codes, then HL7 table 0112 / FHIR codes.
- rows          `rows.py` the row schema (marshmallow; reasons are catalogue msgids) and its fast
                path; `values.py` phones (extensions kept), ID numbers, dates, codes.
                A stay without a valid phone or 离院方式 is kept, marked `needs_data`; one
                with a malformed ID number is kept, the number set aside on the stay (a
                warning row of the batch, listed on 待补资料), its tasks callable.
- prepare       `prepare.py` validated rows → staging tuples (ward, personal data encrypted and
                hashed, content hash, due date), in worker processes for big files.
- write         `write.py` one transaction per chunk: COPY of new stays (PostgreSQL) or the staging
                table, tasks (with `needs_data`), rejected rows, the batch cursor and counts.
- run           `run.py` the batch run: lease, read → prepare → write, and the one place that
                turns any failure into a `failed` batch with a reason (`errors.py`: msgid and
                parameters, translated when shown) or, for an outage, a retry that resumes.
"""
