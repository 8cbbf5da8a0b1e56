"""The statements of the search machinery, one module per job: embedding spaces
(``spaces``), vector rows (``vectors``), the vector cache's reads (``reads``) and
change log (``changes``), the planner's nearest-neighbour statements (``nearest``), HNSW
indexes (``indexes``, ``maintenance``), filters (``filters``) and full text (``text``).

The policies that choose among them (the planner, the cache, fusion) are
``photostore.search``, which writes no SQL; nothing here imports it.
"""
