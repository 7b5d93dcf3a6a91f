"""Accounts: list, create with a one-time password, disable, reset (API.md "Accounts")."""
