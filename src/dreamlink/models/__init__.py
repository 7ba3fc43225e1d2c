"""Model files shipped with dreamlink, each with its version in the file name.

- ``causal_prior_<version>.csv``: warm-start prior of the causal stager's running normalisation.
- ``stage_transitions_<version>.csv``: 30-s stage-transition matrix of the HMM smoothing.
- ``calibration_settled_<version>.csv``, ``calibration_provisional_<version>.csv``: the causal
  stager's per-stage probability calibration; ``calibration_offline_<version>.csv`` the offline
  engine's; ``calibration_fast_<version>.csv`` the ``dreamlink-fast`` engine's.
- ``student_eeg_<version>.csv``: the ``dreamlink-fast`` engine's softmax model, distilled from YASA's
  pretrained EEG classifier on unlabelled EEG (:mod:`dreamlink.staging.student`).

Rebuild them with ``python -m dreamlink.staging.train`` (needs ``../shared/data``).
"""
