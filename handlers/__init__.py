"""Chat handlers: thin adapters that turn an incoming message into a service call and a reply."""
