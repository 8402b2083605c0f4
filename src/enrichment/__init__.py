"""Text enrichment: sentiment, topics, intent, language and spam behind the ``Enricher`` protocol."""
