#!/usr/bin/env python3
"""Draws build/icon.png, the 128x128 NuGet package icon, with the standard library only.

The picture is the method in one glance: a noisy half on the left (x_t) turns into a smooth
gradient on the right (the clean image), and two marks (the two candidates from the same x_t,
one kept) sit across the middle. Run it again after a change; the output is deterministic.
"""
import random
import struct
import zlib
from pathlib import Path

SIZE = 128
RADIUS = 22  # rounded corners


def inside_rounded_square(x, y):
    cx = min(max(x, RADIUS), SIZE - 1 - RADIUS)
    cy = min(max(y, RADIUS), SIZE - 1 - RADIUS)
    return (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS ** 2


def pixel(x, y, noise):
    if not inside_rounded_square(x, y):
        return (0, 0, 0, 0)
    # A teal-to-violet gradient; its noise fades from full on the left to none on the right.
    t = x / (SIZE - 1)
    base = (int(20 + 90 * t), int(150 - 60 * t + 40 * y / SIZE), int(160 + 70 * t))
    amount = max(0.0, 1.0 - 1.6 * t)
    r, g, b = (min(255, max(0, int(c + amount * noise))) for c in base)
    # The two candidates: a kept (white) dot above and a dropped (dim) dot below the middle.
    for (mx, my, colour) in ((76, 48, (255, 255, 255)), (76, 84, (70, 70, 110))):
        if (x - mx) ** 2 + (y - my) ** 2 <= 11 ** 2:
            return colour + (255,)
    # The step from x_t to the kept candidate.
    if 30 <= x <= 66 and abs((y - 64) - (x - 30) * (48 - 64) / 36) <= 2.2:
        return (255, 255, 255, 255)
    if 30 <= x <= 66 and abs((y - 64) - (x - 30) * (84 - 64) / 36) <= 1.2:
        return (70, 70, 110, 255)
    if (x - 30) ** 2 + (y - 64) ** 2 <= 7 ** 2:
        return (255, 255, 255, 255)
    return (r, g, b, 255)


def main():
    rng = random.Random(12)
    rows = []
    for y in range(SIZE):
        row = bytearray([0])  # filter: none
        for x in range(SIZE):
            row.extend(pixel(x, y, rng.uniform(-90, 90)))
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
    png += chunk(b"IEND", b"")
    out = Path(__file__).with_name("icon.png")
    out.write_bytes(png)
    print(f"wrote {out} ({len(png)} bytes)")


if __name__ == "__main__":
    main()
