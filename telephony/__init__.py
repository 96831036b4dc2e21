"""SIP and call audio on pjsua2. Knows nothing of speech models."""
