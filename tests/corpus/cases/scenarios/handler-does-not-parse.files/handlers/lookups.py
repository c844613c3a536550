def lookup(query)
    return query
