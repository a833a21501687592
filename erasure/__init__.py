"""erasure: reproducible machine-unlearning experiments from one JSONC config."""
__version__ = "0.1.0"
