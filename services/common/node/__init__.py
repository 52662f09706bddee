"""What the model nodes (LLM, TTS, image) share: the registry base and the server bootstrap."""
