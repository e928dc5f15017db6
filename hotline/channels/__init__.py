"""Channel adapters: each turns its payload into one inbound message and renders replies."""
