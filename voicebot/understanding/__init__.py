"""What the caller wants: intents (and later slots and emotion)."""
