from services.image_node.server import main

main()
