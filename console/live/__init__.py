"""The live console's engine: camera feeds and the monitoring session, on asyncio.

Runs on the Qt event loop through qasync in the console, but imports no Qt: blocking
work (decoding, dlib, SQLite) is awaited from executors, and results are handed to a
plain-Python listener on the loop's thread.
"""
