from samples.sensor_fleet.main import main

main()
