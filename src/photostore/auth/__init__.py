"""Authentication: password hashing, bearer tokens, the principal a request acts as."""
