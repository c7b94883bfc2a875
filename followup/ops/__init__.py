"""Operations: what the service tells its operators about itself (readiness, outages)."""
