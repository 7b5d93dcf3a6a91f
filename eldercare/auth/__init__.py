"""Users, roles, login, API tokens, lockout and sessions."""
