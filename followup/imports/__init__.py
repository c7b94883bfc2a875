"""Import readers and normalisers: HIS files (CSV, xlsx), HL7 v2 ADT^A03 and FHIR R4 bundles in,
validated discharge rows out. Pure Python: no Flask, no database; the loader
(followup.importing) writes what these modules produce."""
