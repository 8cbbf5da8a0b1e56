"""Blob storage: where original files and thumbnails live, behind one small protocol."""
