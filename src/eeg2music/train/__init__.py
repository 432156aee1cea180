"""Training: a typed experiment config (``config``), atomic checkpoints (``checkpoint``), distributed set-up
(``distributed``) and one readable training loop (``engine.main``) shared by every model."""
