"""Request and response bodies of the API (pydantic models), one module per resource."""
