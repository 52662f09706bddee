from services.tts_node.server import main

main()
