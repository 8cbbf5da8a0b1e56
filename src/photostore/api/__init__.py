"""The HTTP API: thin routers that parse, authorize, call one service and shape the answer."""
