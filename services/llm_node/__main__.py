from services.llm_node.server import main

main()
