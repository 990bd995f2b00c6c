"""Routing decisions: the pure policy, the free text rules, thought-signature hygiene on
lane switches, and replaying scored requests at any threshold."""
