"""Tokenizers: texts of a text dataset to token ids, one module per tokenizer.

The optional ``tokenizers`` / ``transformers`` packages are imported only when a pretrained
tokenizer is used, so every tokenizer is registered without them.
"""
from .base import Tokenizer, pad
from .huggingface import HuggingFaceTokenizer
from .word import WordTokenizer

__all__ = ["HuggingFaceTokenizer", "Tokenizer", "WordTokenizer", "pad"]
