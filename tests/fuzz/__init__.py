"""Fuzzing the gateway: its OpenAPI schema (schemathesis) and its WebSocket protocol."""
