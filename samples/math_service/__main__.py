from samples.math_service.main import main

main()
