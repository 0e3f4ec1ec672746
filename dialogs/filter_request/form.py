"""Reading and checking the request form (``dialogs.filter_making``, shared with the
over-blocking feature)."""

from __future__ import annotations

from dialogs.filter_making import Submitted as Submitted
from dialogs.filter_making import validate_request as validate_request
