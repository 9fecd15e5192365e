"""The Qt layer: presents the session and forwards the officer's actions. Nothing else."""
