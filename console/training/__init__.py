"""Training and acceptance testing on scenarios with known truth (no Qt here except
through the trainer's window): ``scenarios`` reads and checks a scenario's manifest,
``uat`` replays it headless and judges the alerts, ``trainer`` plays it in sync for a
trainee to adjudicate (``scenario_player`` drives the cameras), and scores the run."""
