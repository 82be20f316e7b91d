"""The use cases: start here. Each module is one recipe a reader follows top to bottom."""
