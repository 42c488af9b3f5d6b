async def bonus():
    return "not an exercise of the kit"
