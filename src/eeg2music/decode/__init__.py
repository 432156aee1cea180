"""Decoding: a trained model (or the closed-form baseline) turned into predictions of the test trials."""
