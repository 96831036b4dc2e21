"""Speech engines for the hotline: VAD, recognition, synthesis. Knows nothing of SIP."""
