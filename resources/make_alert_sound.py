"""Write resources/sounds/alert.wav: a two-tone chime (made here, no third-party audio).

.venv/bin/python resources/make_alert_sound.py
"""

import wave
from pathlib import Path

import numpy as np

RATE = 22050


def tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    envelope = np.minimum(1.0, 20 * t) * np.exp(-4 * t)  # quick attack, soft decay
    return np.sin(2 * np.pi * freq * t) * envelope


def main() -> None:
    samples = np.concatenate([tone(880, 0.25), tone(660, 0.35)])
    data = (samples * 0.5 * 32767).astype("<i2").tobytes()
    out = Path(__file__).resolve().parent / "sounds" / "alert.wav"
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
