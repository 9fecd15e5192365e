"""The vision pipeline: frame sources, face detection and encoding, matching.

Plain Python with OpenCV, numpy and dlib; no Qt. Each stage is a small module:
``sources`` decodes frames, ``analysis`` finds and encodes faces (run on the
background pool from ``pool``), ``matcher`` compares encodings with the watchlist,
``enrolment`` turns a watchlist folder into encodings.
"""
