"""Image node process: serve gRPC at once, check the registry's models in the background."""

from __future__ import annotations

from services.common.node.server import node_main, serve_node
from services.common.pb import image_pb2, image_pb2_grpc
from services.image_node.config import ImageSettings
from services.image_node.queue import JobQueue
from services.image_node.registry import ImageModelRegistry, load_specs
from services.image_node.servicer import ImageServicer

SERVICE_NAME = image_pb2.DESCRIPTOR.services_by_name["ImageService"].full_name


class ImageNode:
    """What serve_node starts and closes: the registry, and the queue in front of it."""

    def __init__(self, registry: ImageModelRegistry, queue: JobQueue) -> None:
        self.registry = registry
        self.queue = queue

    async def start(self) -> None:
        await self.registry.start()

    async def close(self) -> None:
        # Jobs first: their workers stop within a step, then the backends free their weights.
        await self.queue.close()
        await self.registry.close()


async def serve(settings: ImageSettings) -> None:
    """Run the image node until SIGINT/SIGTERM."""
    registry = ImageModelRegistry(load_specs(settings.image_models))
    queue = JobQueue(settings.image_queue_max)
    await serve_node(
        "image",
        settings,
        host=settings.image_host,
        port=settings.image_port,
        service_name=SERVICE_NAME,
        registry=ImageNode(registry, queue),
        add_servicer=lambda s: image_pb2_grpc.add_ImageServiceServicer_to_server(
            ImageServicer(registry, queue), s
        ),
        shutdown_grace_s=settings.shutdown_grace_s,
        reflection=settings.grpc_reflection,
        extra={"models": str(settings.image_models)},
    )


def main() -> None:
    """Entry point for `chimera image`."""
    node_main("image", ImageSettings(), serve)


if __name__ == "__main__":
    main()
