"""``motcua demo``: a commune's one-stop shop and its reform plan through a simulated year.

Modules: :mod:`~motcua.simulation.workload` (what arrives, and each dossier's fate), :mod:`~.cast`
(officers, capacity, absences), :mod:`~.plan_progress` (the plan's tasks through the year) — pure and
seeded; :mod:`~.flow`, :mod:`~.work`, :mod:`~.year` (the driving code on the real engine),
:mod:`~.timers` (inline runner or dramatiq on Redis), :mod:`~.run` (the whole run and its reports),
:mod:`~.tables`, :mod:`~.files` and :mod:`~.charts` (what is printed and written).
"""
