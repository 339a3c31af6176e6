"""What train's and predict's command lines share: argparse types for numeric options."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer of at least 1, or argparse's one-line usage error."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0, or argparse's one-line usage error."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value
