"""The performance benchmark (issue 11): ``python -m bench`` or ``script/bench``; see README."""
