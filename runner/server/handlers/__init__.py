"""One thin handler per API operation, named after its operationId (moto's responses.py)."""
