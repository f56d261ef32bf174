"""The MQTT transport for nestpy, wire-compatible with NestJS's MQTT transporter."""
