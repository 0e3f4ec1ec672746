"""The filter request's stored kind and codec (the leaf ``dialogs.kinds.filter_request``), and
its timers' names."""

from __future__ import annotations

from dialogs.kinds.filter_request import CODEC as CODEC
from dialogs.kinds.filter_request import KIND as KIND
from dialogs.kinds.filter_request import PREFIX as PREFIX
from dialogs.kinds.filter_request import decode as decode
from dialogs.kinds.filter_request import encode as encode
from dialogs.kinds.filter_request import subject_of as subject_of

PERIOD_END = "filter.period_end"
PERIOD_START = "filter.period_start"
