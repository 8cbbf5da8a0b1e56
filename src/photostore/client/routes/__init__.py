"""Every route of the photostore API, once, for both clients: one method per operation of
the OpenAPI document, named by its operation id, and an ``iter_*`` for every paged list.

A route added to the server needs its method here (``tests/client/test_coverage.py``
fails until it has one); a paged one also its pager below.
"""

from __future__ import annotations

from photostore.client._route import Pager
from photostore.client.routes.accounts import AccountRoutes
from photostore.client.routes.collections import CollectionRoutes
from photostore.client.routes.images import ImageRoutes
from photostore.client.routes.library import LibraryRoutes
from photostore.client.routes.vectors import VectorRoutes


class Routes(AccountRoutes, ImageRoutes, LibraryRoutes, CollectionRoutes, VectorRoutes):
    iter_images = Pager(ImageRoutes.list_images)
    iter_changes = Pager(ImageRoutes.list_changes)
    iter_tagged_images = Pager(CollectionRoutes.tagged_images)
    iter_album_images = Pager(CollectionRoutes.album_images)
    iter_person_images = Pager(LibraryRoutes.person_images)
    iter_tags = Pager(CollectionRoutes.list_tags)
    iter_albums = Pager(CollectionRoutes.list_albums)
    iter_people = Pager(LibraryRoutes.list_people)
    iter_analysis_history = Pager(LibraryRoutes.analysis_history)
    iter_search = Pager(VectorRoutes.search)
    iter_audit_trail = Pager(AccountRoutes.read_my_audit_trail)
    iter_accounts = Pager(AccountRoutes.list_accounts)
