from samples.math_client.main import main

main()
