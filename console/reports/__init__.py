"""Deployment records and pilot evaluations: the figures a force publishes.

- ``figures``: the definitions and the arithmetic (plain Python);
- ``record``: one deployment's record read from the live database, and the counts kept
  when its alerts are purged (the retention approach is in its docstring);
- ``evaluation``: several deployments, summed, with the headline numbers;
- ``series``: what the charts show; ``export``: CSV, JSON and text; ``html``: the
  printed layout; ``cli``: the ``report`` and ``evaluate`` commands.
- ``charts`` (QPainter) and ``pdf`` (QPdfWriter) import Qt: nothing here imports them
  until a chart or a PDF is asked for.
"""

from console.reports.evaluation import Evaluation, Headline, evaluate
from console.reports.figures import DEFINITIONS, AlertClass, Figures
from console.reports.record import DeploymentRecord, ReportError, deployment_record, keep_counts

__all__ = [
    "DEFINITIONS",
    "AlertClass",
    "DeploymentRecord",
    "Evaluation",
    "Figures",
    "Headline",
    "ReportError",
    "deployment_record",
    "evaluate",
    "keep_counts",
]
