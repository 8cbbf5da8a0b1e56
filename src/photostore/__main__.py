"""``python -m photostore`` runs the CLI."""

from photostore.cli import main

main()
