"""The sensor fleet sample: ``python -m samples.sensor_fleet``."""
