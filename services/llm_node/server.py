"""LLM node process: serve gRPC at once, start the registry's models in the background."""

from __future__ import annotations

from services.common.node.server import node_main, serve_node
from services.common.pb import llm_pb2, llm_pb2_grpc
from services.llm_node.config import LlmSettings
from services.llm_node.registry import ModelRegistry, load_specs
from services.llm_node.servicer import LlmServicer

SERVICE_NAME = llm_pb2.DESCRIPTOR.services_by_name["LlmService"].full_name


async def serve(settings: LlmSettings) -> None:
    """Run the LLM node until SIGINT/SIGTERM."""
    registry = ModelRegistry(load_specs(settings.models))
    await serve_node(
        "llm",
        settings,
        host=settings.llm_host,
        port=settings.llm_port,
        service_name=SERVICE_NAME,
        registry=registry,
        add_servicer=lambda s: llm_pb2_grpc.add_LlmServiceServicer_to_server(
            LlmServicer(registry), s
        ),
        shutdown_grace_s=settings.shutdown_grace_s,
        reflection=settings.grpc_reflection,
        extra={"models": str(settings.models)},
    )


def main() -> None:
    """Entry point for `chimera llm`."""
    node_main("llm", LlmSettings(), serve)


if __name__ == "__main__":
    main()
