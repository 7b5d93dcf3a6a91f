"""Demo step 70: a year of applications (filled in below)."""


def build(ctx) -> None:
    pass
