"""Accounts: sign-up and sign-in, tokens, roles, revocation, and the `chimera admin` commands.

service.py is the logic (Accounts), servicer.py the AccountService gRPC surface, passwords.py
hashing and sign-in limits, revocations.py the feed gateways watch, outbox.py what carries
`chimera admin`'s revocations (another process) into that feed, admin.py the commands.
"""
