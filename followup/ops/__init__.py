"""Operations: what the service tells its operators about itself (readiness, outages), and the
database set-up it runs on (the app's role, the audit log's monthly partitions)."""
