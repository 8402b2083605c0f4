"""HTTP API and web console: profiles, alerts, analytics and enrichment for agents, marketers and analysts."""
