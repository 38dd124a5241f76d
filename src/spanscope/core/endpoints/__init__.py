"""Model endpoints: OpenAI-compatible servers a user configured, the requests we send them and the
answers they give (replays and judges both speak through here). Nothing here touches the network
until a caller runs a request."""
