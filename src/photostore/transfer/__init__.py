"""Moving a user's library in and out: a folder tree of photos (with their sidecars, or
an Immich or PhotoPrism library as it lies), and photostore's own export layout
(docs/export-format.md), which its import reads back to the same library."""
