"""Plain domain types: what services take and return, and what the API turns into
bodies. No database types here: a value of this package is the same whatever stored it.
"""
