"""How lanes answer beyond a plain call: speculative starts on the lite lane."""
