"""Encryption at rest: master keys, per-user data keys, the chunked blob envelope."""
