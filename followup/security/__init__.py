"""The security layer: the security admin's policy, server-side sessions, the second factor, and
audit retention. Routes and the login flow call these; nothing here commits."""
