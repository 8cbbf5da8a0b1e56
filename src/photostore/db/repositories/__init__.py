"""Data access: every SQL statement of one aggregate, behind one module of this package.

Services open a transaction (``db.session.Database``), hand it to the repositories they
need, and receive plain domain types (``photostore.domain``), never ORM rows.
"""
