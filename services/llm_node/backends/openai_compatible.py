"""Any server that speaks OpenAI's chat completions API: Ollama, LM Studio, vLLM, DeepSeek, Gemini."""

from __future__ import annotations

import openai

from services.llm_node.backends.base import BackendUnavailable
from services.llm_node.backends.openai import OpenAIBackend

PROBE_TIMEOUT_S = 3.0
NO_KEY = "not-needed"  # the SDK insists on a key; local servers ignore it


class OpenAICompatibleBackend(OpenAIBackend):
    """The OpenAI backend pointed at `base_url`, with the API key optional."""

    max_tokens_field = "max_tokens"  # the one name every compatible server accepts
    send_names = False  # some servers reject the field; the room puts speakers in the content

    async def start(self) -> None:
        """Create the client and check once that the server answers."""
        if not self.spec.base_url:
            raise BackendUnavailable(
                "base_url is not set (e.g. http://127.0.0.1:11434/v1 for Ollama)"
            )
        await super().start()
        try:
            await self._probe()
        except BaseException:
            await self.close()
            raise

    def _api_key(self) -> str:
        return (self.spec.api_key() or "").strip() or NO_KEY

    async def _probe(self) -> None:
        try:
            await self._require_client().models.list(timeout=PROBE_TIMEOUT_S)
        except openai.APITimeoutError:
            raise BackendUnavailable(f"cannot reach {self.spec.base_url}: timed out") from None
        except openai.APIConnectionError as exc:
            raise BackendUnavailable(f"cannot reach {self.spec.base_url}: {_why(exc)}") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            missing = self.spec.api_key_env and not self.spec.api_key()
            hint = f"; {self.spec.api_key_env} is not set" if missing else ""
            raise BackendUnavailable(
                f"{self.spec.base_url} rejected the API key ({exc.status_code}){hint}"
            ) from None
        except openai.APIStatusError:
            pass  # it answers; many servers have no model list (404) and that is fine


def _why(exc: BaseException) -> str:
    """The transport's reason, such as "connection refused", from the exception chain."""
    cause: BaseException | None = exc
    for _ in range(8):  # chains are short; a bound guards against a cycle
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    return "connection failed"
