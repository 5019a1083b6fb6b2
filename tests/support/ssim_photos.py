"""Real photographs for the SSIM validation (docs/ops.md, "Structured inputs"): scikit-image's
data module (camera, astronaut, coffee: bundled with the package, no download), cut down and
written as raw float32 planes for tests/test_ssim_photos.cpp.

For each photo X (grey or RGB, values k/255) it writes a distorted Y as a renderer's output or
a codec's differs: a blurred and brightened region, a quantised region (banding on smooth
areas), Gaussian noise elsewhere, clamped to [0, 1]. Photos keep what synthetic inputs lack:
large smooth and flat areas (sky, background, saturated highlights) beside texture and edges.

usage: ssim_photos.py OUT_DIR  ->  OUT_DIR/<name>_<channels>x<height>x<width>.{x,y}.f32 (CHW)
exit 3 when scikit-image is not installed.
"""
import pathlib
import sys


def main() -> int:
    try:
        import numpy as np
        from skimage import data
    except ImportError as e:
        print(f"ssim_photos: {e}", file=sys.stderr)
        return 3
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(22)
    photos = {
        # (image, crop rows, crop cols, step): crops keep the flat sky / background, step
        # downscales by plain subsampling (the values stay k/255).
        "camera": (data.camera(), slice(0, 384), slice(64, 511), 3),  # 128 x 149, grey: sky and coat
        "astronaut": (data.astronaut(), slice(0, 300), slice(150, 500), 2),  # 150 x 175, RGB
        "coffee": (data.coffee(), slice(0, 400), slice(0, 600), 4),  # 100 x 150, RGB: flat wall
    }
    for name, (img, rows, cols, step) in photos.items():
        x = img[rows, cols][::step, ::step].astype(np.float32) / np.float32(255)
        if x.ndim == 2:
            x = x[None]
        else:
            x = np.ascontiguousarray(np.moveaxis(x, -1, 0))
        c, h, w = x.shape
        y = x.copy()
        # Left third: brighter and blurred (a 3-tap box, separable).
        third = w // 3
        left = y[:, :, :third]
        blurred = (np.roll(left, 1, 2) + left + np.roll(left, -1, 2)) / 3
        blurred = (np.roll(blurred, 1, 1) + blurred + np.roll(blurred, -1, 1)) / 3
        y[:, :, :third] = 1.05 * blurred + 0.02
        # Middle third: quantised to 32 levels (banding on the smooth areas).
        y[:, :, third:2 * third] = np.round(y[:, :, third:2 * third] * 31) / 31
        # Right third: noise.
        y[:, :, 2 * third:] += rng.normal(0, 0.02, y[:, :, 2 * third:].shape).astype(np.float32)
        y = np.clip(y, 0, 1).astype(np.float32)
        stem = out / f"{name}_{c}x{h}x{w}"
        x.astype(np.float32).tofile(str(stem) + ".x.f32")
        y.tofile(str(stem) + ".y.f32")
        print(f"ssim_photos: {stem.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
