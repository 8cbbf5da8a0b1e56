"""photostore: the data storage service of a photo application."""

__version__ = "0.1.0"
