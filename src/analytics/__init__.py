"""Analytics: the ClickHouse schema, a batched writer and read-only query helpers (chDB or a server)."""
