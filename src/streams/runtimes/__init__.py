"""The two runtimes that drive the steps: embedded (one process) and Kafka (consumer lanes on librdkafka)."""
