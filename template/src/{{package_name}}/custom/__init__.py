"""Yours: the parts of the project you are expected to change.

copier update never changes a file of this folder (nor of tests/custom/): an update brings
the template's fixes to the rest of the project, which calls these modules through small
interfaces, and leaves your edits here as they are.

- model.py: the network, its optimizer and their train options (`--learning-rate`);
- training.py: your own train options, callbacks, and which options a resumed run may change;
- preprocessing.py: a transform of the inputs fitted on the training split, saved with the
  run and applied alike in training, validation and predict (standardization, say);
- reading.py: how train reads a dataset's splits and predict its inputs (a format of yours).

Every option either module adds is recorded in the run's run.json: a resumed run must be
given the same values, but for those training.py names in FREE_OPTIONS.
"""
