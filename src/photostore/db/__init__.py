"""Database access: models, engine and per-user sessions, the embedded server, migrations."""
