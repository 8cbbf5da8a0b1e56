"""Backups that restore: ``photostore backup create / list / drill`` and ``photostore restore``
(docs/operations.md, "Backup and restore")."""
