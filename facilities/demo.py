"""Demo step (placeholder)."""


def build(ctx) -> None:
    """Build the facilities demo."""
