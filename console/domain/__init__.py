"""Domain rules: watchlists, sightings, alerts and adjudications.

Plain Python only: nothing here imports Qt, OpenCV or dlib, so the rules can be
read and tested without a camera or a window.
"""
