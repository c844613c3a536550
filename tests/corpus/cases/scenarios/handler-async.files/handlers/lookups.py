async def lookup(query):
    return query
