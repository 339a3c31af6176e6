"""Words to token ids: a vocabulary fitted on the training split, saved with the run.

Pure Python, so text projects work on every backend (keras.layers.TextVectorization needs
TensorFlow). It matches TextVectorization's defaults (Keras 3's
layers/preprocessing/text_vectorization.py and index_lookup.py):
- standardize: lowercase, then delete the characters of STRIP_PUNCTUATION, its
  "lower_and_strip_punctuation" (one difference: str.lower lowercases every letter,
  tf.strings.lower only ASCII ones);
- the vocabulary: id 0 is padding (""), id 1 every word out of the vocabulary ("[UNK]"),
  then the VOCAB_SIZE - 2 most frequent words, ties broken as index_lookup breaks them
  (the later word in code point order first), so the same split always gives the same
  vocabulary;
- the saved file is get_vocabulary()'s list, one token per line, "" and "[UNK]" first.
How a text becomes words is custom/text.py's split_words (standardize, then whitespace).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import atomic_files
from .data_errors import DataError
from .settings import VOCAB_SIZE

PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"
OOV_ID = 1
# Written beside model.keras by train, read by predict and by a resumed run.
VOCABULARY_FILE = "vocabulary.txt"
# TextVectorization's DEFAULT_STRIP_REGEX, character for character.
STRIP_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')


def standardize(text: str) -> str:
    """`text` lowercased, its ASCII punctuation deleted (not replaced by spaces)."""
    return STRIP_PUNCTUATION.sub("", text.lower())


class Vocabulary:
    """Token strings in id order: "" (padding), "[UNK]", then the kept words."""

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if tokens[:2] != [PAD_TOKEN, OOV_TOKEN]:
            raise ValueError(f'a vocabulary starts with "" and "[UNK]", got {tokens[:2]!r}')
        self.tokens = tokens
        self.ids = {token: k for k, token in enumerate(tokens) if k >= 2}
        if len(self.ids) != len(tokens) - 2:
            raise ValueError("a token appears twice in the vocabulary")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, words: Sequence[str]) -> np.ndarray:
        """The int32 token ids of `words`; a word out of the vocabulary is OOV_ID."""
        return np.array([self.ids.get(word, OOV_ID) for word in words], dtype=np.int32)

    def encode_all(self, texts: Iterable[Sequence[str]]) -> list[np.ndarray]:
        return [self.encode(words) for words in texts]


def fit_vocabulary(texts: Iterable[Sequence[str]], size: int = VOCAB_SIZE) -> Vocabulary:
    """The vocabulary of at most `size` tokens that `texts` (each a list of words) give."""
    counts = Counter(word for words in texts for word in words)
    # Never words: TextVectorization removes them from the counts too.
    for special in (PAD_TOKEN, OOV_TOKEN):
        counts.pop(special, None)
    # Most frequent first; among equal counts the later word first (index_lookup's lexsort).
    ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
    return Vocabulary([PAD_TOKEN, OOV_TOKEN, *(word for word, _ in ranked[: size - 2])])


def describe_unknown_words(sequences: Sequence[np.ndarray]) -> str:
    """How many of the tokens of `sequences` (token ids) are words out of the vocabulary."""
    total = sum(len(tokens) for tokens in sequences)
    unknown = sum(int(np.count_nonzero(tokens == OOV_ID)) for tokens in sequences)
    return (
        f"{unknown:,} of {total:,} words ({unknown / total:.1%}) are out of the vocabulary "
        f"(VOCAB_SIZE {VOCAB_SIZE:,}) and read as id {OOV_ID}"
    )


def save_vocabulary(vocabulary: Vocabulary, run_dir: Path) -> Path:
    """RUN_DIR/vocabulary.txt, one token per line (the first line empty: padding)."""
    path = run_dir / VOCABULARY_FILE
    atomic_files.write_text(path, "".join(token + "\n" for token in vocabulary.tokens))
    return path


def load_vocabulary(run_dir: Path) -> Vocabulary:
    """The vocabulary saved with a run; FileNotFoundError or DataError naming the file."""
    path = run_dir / VOCABULARY_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: a text model needs the vocabulary train saved with it"
        )
    tokens = path.read_text(encoding="utf-8").split("\n")
    if tokens[-1] != "":
        raise DataError(f"{path} is cut short: its last line has no line break")
    try:
        vocabulary = Vocabulary(tokens[:-1])
    except ValueError as error:
        raise DataError(f"{path} is no vocabulary: {error}") from None
    # More ids than the model embeds: a run of another project (another vocab_size).
    if len(vocabulary) > VOCAB_SIZE:
        raise DataError(
            f"{path} holds {len(vocabulary):,} tokens, but VOCAB_SIZE is {VOCAB_SIZE:,}"
        )
    return vocabulary
