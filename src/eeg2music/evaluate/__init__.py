"""Evaluation shared by every model: decoded trials (``predictions``) → metrics with permutation nulls and
bootstrap CIs (``metrics``, ``stats``, ``evaluate``) → a report page (``report``)."""
