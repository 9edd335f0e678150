"""Queries, one module per aggregate. Repositories never commit: the service's unit of
work (`async with session.begin()`) decides when a change is complete."""
