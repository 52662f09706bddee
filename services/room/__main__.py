from services.room.server import main

main()
