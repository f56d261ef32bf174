"""nestpy: NestJS's module system and microservices, in Python."""
