"""Evidence that the matcher treats groups of people alike.

``python -m console evaluate-matcher --test-set DIR`` runs the console's own matcher,
evidence rule and enrolment on a force's labelled faces and measures, for each group and
each operating point the console offers, the false negative identification rate (FNIR:
a watchlisted person walking past is not alerted on) and the false positive
identification rate (FPIR: a passer-by on no watchlist raises an alert), with intervals
that respect that photos of one person are not independent, and says whether the groups
differ (docs/equality.md).

- ``testset``: reading the labelled test set (hostile input) and its hash;
- ``adapter``: the one place that calls the shipped vision pipeline;
- ``evaluator``: watchlists, rounds and padding, every search judged;
- ``statistics``: intervals, tests, multiplicity, sample sizes;
- ``report``: the figures as JSON, the plain-words summary, HTML and PDF;
- ``approval``: a plan's reference to a report, checked against the site policy;
- ``monitoring``: alerts, engagements and outcomes by group in operation (the record's
  and the evaluation's tables); ``cli``: the command.
"""
