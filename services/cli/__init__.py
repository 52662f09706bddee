"""The `chimera` command: `up` runs the whole stack; `room`, `llm` and `gateway` run one service;
`admin` manages accounts."""
