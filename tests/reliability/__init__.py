"""Reliability: crash, fault, retry, soak and backup tests across the whole bot (issue 10)."""
