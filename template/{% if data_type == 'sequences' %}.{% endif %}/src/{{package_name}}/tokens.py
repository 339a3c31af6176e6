"""Token id sequences: the vocabulary and length the model takes, and checks on the ids.

A sequence is a 1-D integer array of token ids in [1, VOCAB_SIZE); 0 is padding, so a
padded batch is right-padded with 0 and Embedding(mask_zero=True) ignores the padding.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized

import numpy as np
from numpy.typing import ArrayLike

from .data_errors import DataError
from .settings import MAX_LENGTH, VOCAB_SIZE

PAD_ID = 0


def check_tokens(tokens: ArrayLike, where: str) -> np.ndarray:
    """`tokens` as an int32 array, or DataError naming `where` (a sample, a file line).

    Empty sequences are refused: a row of padding only has nothing to learn from and
    breaks masked recurrent layers (cuDNN rejects all-masked rows).
    """
    array = np.asarray(tokens)
    if array.ndim != 1:
        raise DataError(f"{where}: a sequence must be 1-D token ids, got shape {array.shape}")
    if len(array) == 0:
        raise DataError(f"{where}: the sequence is empty; every sequence needs a token")
    if not np.issubdtype(array.dtype, np.integer):
        raise DataError(
            f"{where}: token ids must be integers, got dtype {array.dtype}; "
            "convert whole numbers with .astype(int)"
        )
    bad = (array < 1) | (array >= VOCAB_SIZE)
    if bad.any():
        position = int(np.argmax(bad))
        raise DataError(
            f"{where}: token ids must lie in [1, {VOCAB_SIZE}) (0 is padding): "
            f"{int(bad.sum())} do not, the first at position {position} with id {array[position]}"
        )
    return array.astype(np.int32, copy=False)


def check_token_sequences(inputs: Sequence[ArrayLike]) -> list[np.ndarray]:
    """Every sequence checked (DataError naming the first bad sample) and as int32."""
    if isinstance(inputs, np.ndarray) and inputs.dtype != object:
        raise DataError(
            f"inputs must be a list of 1-D token id arrays, got one array of shape "
            f"{inputs.shape}; pass list(inputs) if its rows are the sequences"
        )
    return [check_tokens(tokens, f"sample {i}") for i, tokens in enumerate(inputs)]


def sequence_lengths(sequences: Sequence[np.ndarray]) -> np.ndarray:
    """Tokens the model sees per sequence: longer ones are cut to MAX_LENGTH."""
    return np.minimum([len(tokens) for tokens in sequences], MAX_LENGTH).astype(np.int64)


def describe_truncation(sequences: Sequence[Sized], *, cropped: bool = False) -> str:
    """How many `sequences` are longer than MAX_LENGTH, and which of their tokens the model
    sees: their first MAX_LENGTH, or (`cropped`, augmentation) a random window of them."""
    total = len(sequences)
    longer = sum(len(tokens) > MAX_LENGTH for tokens in sequences)
    if not longer:
        return f"none of {total:,} sequences is longer than max_length {MAX_LENGTH}"
    fate = (
        f"are cut to a random window of {MAX_LENGTH} tokens in each epoch (augmentation)"
        if cropped
        else f"keep their first {MAX_LENGTH} tokens"
    )
    return (
        f"{longer:,} of {total:,} sequences ({longer / total:.1%}) are longer than "
        f"max_length {MAX_LENGTH} and {fate}"
    )
