"""The organisation: units, people, the tree and look-ups by what users type."""
