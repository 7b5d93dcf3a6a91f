"""Dynamic management (动态管理, 应保尽保、应退尽退): lists from other departments matched to
the registry and turned into proposals, termination of 特困 support with its public notice,
and the annual review with the six-item self-care assessment.

Part of the core: it acts on the registry and knows no feature. What features hold (stays,
enrolments) is ended through the person_died / person_moved signals and described through
`registry.effect_describers`; what they would have paid out through `loss_estimators`.
"""
