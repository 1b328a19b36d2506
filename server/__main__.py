from server.entry import main

main()
