"""Platform adapters: pure functions from a platform's payload to ``SocialEvent``s (one module per platform)."""
