"""Analytics: the ClickHouse schema, a batched writer, read-only query helpers and the analyst door (chDB or a
server)."""
