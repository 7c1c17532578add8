"""Who may do what: API tokens, the TOTP second factor, roles and their permissions, and the
audit trail's signed checkpoints. The service (controlplane/server/access.py) and the CLI
(`controlplane users|tokens|audit`) use it; the records live in the store."""
