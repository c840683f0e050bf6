"""The app-wide dependencies, as handlers name them: `museum: Museum`, `principal: Caller`.

Both are provided once in `api.http.app.create_app`; marking them as named dependencies keeps
them out of the OpenAPI parameters and off Litestar's inference (deprecated in 2.x).
"""

from __future__ import annotations

from litestar.di import NamedDependency

from api.http.auth.principal import Principal
from api.http.museum import MuseumServices

Museum = NamedDependency[MuseumServices]
Caller = NamedDependency[Principal]
