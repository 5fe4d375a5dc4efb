"""Token factories, where a team's project registers its own: ``harness.tokens.register_token_factory``.

The tokens live in :mod:`harness.clients.tokens`; this module keeps the documented name.
"""

from __future__ import annotations

from harness.clients.tokens import (
           DEFAULT,
           FLAWS,
           Hs256Tokens,
           TokenFactory,
           TokenSpec,
           mint,
           register_token_factory,
           token_factory,
)

__all__ = ["DEFAULT", "FLAWS", "Hs256Tokens", "TokenFactory", "TokenSpec", "mint", "register_token_factory",
           "token_factory"]
