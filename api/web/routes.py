"""Every page controller, mounted at `/` by `api.web.frame.WebFrame` (add a new page's here)."""

from __future__ import annotations

from typing import Any

from api.web.atelier.controller import AtelierController
from api.web.compliance.controller import ComplianceDeskController
from api.web.donations.controller import DonateController, DonationPagesController
from api.web.exhibition.controller import ExhibitionController
from api.web.my_museum.controller import MyMuseumController
from api.web.my_museum.erasure import ErasureController
from api.web.signin.controller import SignInController, SignOutController

PAGE_HANDLERS: list[Any] = [
    ExhibitionController,
    DonateController,
    DonationPagesController,
    SignInController,
    SignOutController,
    MyMuseumController,
    ErasureController,
    ComplianceDeskController,
    AtelierController,
]
