def greeting(word):
    return word + ", world"
