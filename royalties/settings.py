"""Royalty terms and payout thresholds, read from the environment once.

| variable | meaning | default |
|---|---|---|
| `MUSEUM_ROYALTY_PLATFORM_BPS` | platform share of every gross amount, basis points | 3000 (30 %) |
| `MUSEUM_ROYALTY_FOUNDING_BONUS_BPS` | founding artists' charter bonus, out of the platform share | 500 (5 %) |
| `MUSEUM_ROYALTY_PAYOUT_THRESHOLDS` | JSON object of minimum payouts in minor units per currency | `{}` |
| `MUSEUM_ROYALTY_DEFAULT_THRESHOLD_MAJOR` | threshold, in whole major units, for currencies not listed | 20 |
"""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigurationError, InvalidInput
from royalties.currency import currency_code, exponent
from royalties.split import Terms


class RoyaltySettings(BaseSettings):
    """`MUSEUM_ROYALTY_*` environment variables; all money in integers."""

    model_config = SettingsConfigDict(env_prefix="MUSEUM_ROYALTY_", frozen=True, extra="ignore")

    platform_bps: int = 3000
    founding_bonus_bps: int = 500
    payout_thresholds: dict[str, int] = Field(default_factory=dict)
    default_threshold_major: int = 20

    def terms(self) -> Terms:
        try:
            return Terms(self.platform_bps, self.founding_bonus_bps)
        except InvalidInput as exc:
            raise ConfigurationError(f"royalty settings: {exc}") from None

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
    return RoyaltySettings()
