"""Model files shipped with dreamlink, each with its version in the file name.

- ``causal_prior_<version>.csv``: warm-start prior of the causal stager's running normalisation.
- ``stage_transitions_<version>.csv``: 30-s stage-transition matrix of the HMM smoothing.
- ``calibration_settled_<version>.csv``, ``calibration_provisional_<version>.csv``: the causal
  stager's per-stage probability calibration.

Rebuild them with ``python -m dreamlink.staging.train`` (needs ``../shared/data``).
"""
