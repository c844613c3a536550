def lookup(arguments):
    return arguments


def search(query, limit):
    return []
