"""The software twin: parameters, golden models, stimulus and energy models (numpy only)."""
