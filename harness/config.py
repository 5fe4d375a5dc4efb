"""The settings a team's project extends: ``harness.config.declare_userdata`` and ``SETTING_KEYS``.

Configuration lives in :mod:`harness.env.config`; this module keeps the documented names.
"""

from __future__ import annotations

from harness.env.config import SETTING_KEYS, declare_userdata

__all__ = ["SETTING_KEYS", "declare_userdata"]
