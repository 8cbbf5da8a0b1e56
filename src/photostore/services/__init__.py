"""The rules of photostore: what an upload, a read, a delete means. No HTTP, no SQL text."""
