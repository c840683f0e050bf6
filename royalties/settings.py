"""Royalty terms and payout thresholds, read from the environment once.

| variable | meaning | default |
|---|---|---|
| `MUSEUM_ROYALTY_PLATFORM_BPS` | platform share of every gross amount, basis points | 3000 (30 %) |
| `MUSEUM_ROYALTY_FOUNDING_BONUS_BPS` | founding artists' charter bonus, out of the platform share | 500 (5 %) |
| `MUSEUM_ROYALTY_PAYOUT_THRESHOLDS` | JSON object of minimum payouts in minor units per currency | `{}` |
| `MUSEUM_ROYALTY_DEFAULT_THRESHOLD_MAJOR` | threshold, in whole major units, for currencies not listed | 20 |
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ledger.errors import ConfigurationError, InvalidInput
from ledger.settings import load_settings
from royalties.currency import MAX_AMOUNT_MINOR, currency_code, exponent
from royalties.split import Terms


class RoyaltySettings(BaseSettings):
    """`MUSEUM_ROYALTY_*` environment variables; all money in integers."""

    model_config = SettingsConfigDict(env_prefix="MUSEUM_ROYALTY_", frozen=True, extra="ignore")

    platform_bps: Annotated[int, Field(ge=0, le=10_000)] = 3000
    founding_bonus_bps: Annotated[int, Field(ge=0, le=10_000)] = 500
    payout_thresholds: Annotated[
        dict[str, Annotated[int, Field(ge=1, le=MAX_AMOUNT_MINOR)]], NoDecode
    ] = Field(default_factory=dict)
    default_threshold_major: Annotated[int, Field(ge=1, le=10**9)] = 20

    @field_validator("payout_thresholds", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        """Decoded here, so malformed JSON is reported like any other wrong value."""
        if not isinstance(value, str):
            return value
        try:
            decoded = json.loads(value)
        except ValueError as exc:
            raise ValueError(f'expected a JSON object such as {{"EUR": 2000}} ({exc})') from None
        if not isinstance(decoded, dict):
            raise ValueError('expected a JSON object such as {"EUR": 2000}')
        return decoded

    def terms(self) -> Terms:
        try:
            return Terms(self.platform_bps, self.founding_bonus_bps)
        except InvalidInput as exc:
            raise ConfigurationError(
                f"MUSEUM_ROYALTY_PLATFORM_BPS, MUSEUM_ROYALTY_FOUNDING_BONUS_BPS: {exc}"
            ) from None

    def thresholds(self) -> dict[str, int]:
        """Explicit thresholds, checked: known currencies, positive whole minor units."""
        out: dict[str, int] = {}
        for code, minimum in self.payout_thresholds.items():
            try:
                out[currency_code(code)] = minimum
            except InvalidInput as exc:
                raise ConfigurationError(f"MUSEUM_ROYALTY_PAYOUT_THRESHOLDS: {exc}") from None
            if minimum < 1:
                raise ConfigurationError(
                    f"MUSEUM_ROYALTY_PAYOUT_THRESHOLDS: {code} threshold must be ≥ 1 minor unit"
                )
        if self.default_threshold_major < 1:
            raise ConfigurationError("MUSEUM_ROYALTY_DEFAULT_THRESHOLD_MAJOR must be ≥ 1")
        return out

    def threshold(self, currency: str) -> int:
        """The smallest balance paid out in `currency`, in minor units."""
        code = currency_code(currency)
        default: int = self.default_threshold_major * 10 ** exponent(code)
        return self.thresholds().get(code, default)


@cache
def get_royalty_settings() -> RoyaltySettings:
    """The settings, checked whole (terms and thresholds) so a wrong one is reported at start-up."""
    settings = load_settings(RoyaltySettings)
    settings.terms()
    settings.thresholds()
    return settings
