"""The call-audio front end: DC removal, noise suppression, gain control, 8 <-> 16 kHz
resampling and prosody features, on 20 ms frames of many calls at once.

``reference`` (NumPy) defines what every stage computes; ``cpu`` (Numba) and ``cuda``
(numba.cuda, one launch for the whole batch) must agree with it; ``scheduler`` gathers the
frames of all live calls each 20 ms tick and runs them through the configured backend.
"""
