"""marshmallow schemas: input validation and output shapes (masking differs per role)."""
