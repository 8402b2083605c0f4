"""Stream processing: pure pipeline steps and the two runtimes (embedded, Kafka) that drive them."""
