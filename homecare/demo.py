"""Demo steps (orders 40-49) — filled in below."""


def providers(ctx) -> None:
    pass


def enrolments(ctx) -> None:
    pass


def visits(ctx) -> None:
    pass
