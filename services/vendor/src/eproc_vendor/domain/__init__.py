"""The vendor register's rules, free of HTTP, Kafka and the database."""
