"""Demo step 50: claims for the past months of the year (placeholder)."""


def claims(ctx) -> None:
    pass
