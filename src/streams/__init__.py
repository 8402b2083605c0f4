"""Stream processing: pure pipeline steps and the two runtimes (embedded, Kafka/faust) that drive them."""
