"""Your word splitter: how a text becomes the words the vocabulary counts and encodes.

Yours to change (see custom/__init__.py): copier update never changes this file. storage
calls split_words on every text it reads, for training, validation and predict alike.
The vocabulary is fitted on the words this returns, so a run must be predicted with the
splitter it was trained with. The default is keras.layers.TextVectorization's: lowercase,
strip punctuation, split on whitespace. A text that gives no words is an error.
"""

from __future__ import annotations

from ..vocabulary import standardize


def split_words(text: str) -> list[str]:
    """The words of one text, in order."""
    return standardize(text).split()
