"""What the slot readers find: slot values and the tokens they were said in."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str  # ISO 4217


SlotValue: TypeAlias = str | Amount | datetime.date


@dataclass(frozen=True)
class Found:
    value: SlotValue
    start: int
    end: int  # one past the last token
