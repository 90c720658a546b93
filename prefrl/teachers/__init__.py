"""Who says which clip is better. Every teacher implements ``prefrl.teachers.base.Teacher``.

* ``base``: the ``Teacher`` protocol, ``ImmediateTeacher`` and the paper's ``SyntheticOracle``;
* ``bpref``: the imperfect oracles of B-Pref (stochastic, myopic, mistake, skip, equal);
* ``scripted``: judges of the novel behaviours (backflip, one leg) standing in for a person;
* ``human``: people on the labeling page, read from the run's store;
* ``registry``: every teacher spec (``oracle``, ``mistake:eps=0.1``, ``backflip``, ``human``) parsed, checked
  and built in one place.
"""
