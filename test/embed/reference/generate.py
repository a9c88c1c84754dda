"""Reference values for user-supplied CLIP/SigLIP models, computed by the reference implementations.

Writes the fixtures test/embed/reference.test.ts compares the pipeline against:
  images/*            generated test images (PNG, one JPEG, grey and RGBA ones, odd sizes)
  pixels.json         per image and processor config: the pixels the Hugging Face image processor
                      (PIL backend: transformers' CLIPImageProcessorPil / SiglipImageProcessorPil, the
                      same PIL resize OpenAI's and OpenCLIP's torchvision-on-PIL transforms use) feeds
                      the model, as uint8 HWC recovered exactly from pixel_values
  clip/tokenizer.json.gz, clip/tokenizer_config.json
                      a CLIP tokenizer.json built by transformers' CLIPTokenizer from the real CLIP BPE
                      vocabulary (open_clip's bpe_simple_vocab_16e6.txt.gz, the file OpenAI published)
  tokens.json         per text: input_ids and attention_mask from transformers (padding to max_length,
                      truncation) and, for CLIP, the ids of open_clip's SimpleTokenizer (OpenAI's code)

Run (a venv with pillow numpy transformers tokenizers ftfy regex; the open_clip wheel unpacked):
  python test/embed/reference/generate.py --clip-bpe <dir>/open_clip/bpe_simple_vocab_16e6.txt.gz
"""
import argparse
import base64
import gzip
import hashlib
import importlib.util
import json
import os
import sys
import types
import zlib

import numpy as np
import PIL
import transformers
from PIL import Image, ImageDraw
from transformers import CLIPImageProcessorPil, CLIPTokenizer, SiglipImageProcessorPil

OUT = os.path.dirname(os.path.abspath(__file__))


def make_images():
    """Deterministic images with smooth areas, hard edges and fine texture (where resize filters differ)."""
    rng = np.random.RandomState(8)
    specs = [
        ("landscape", 400, 300, "RGB", "png"),
        ("portrait", 300, 400, "RGB", "png"),
        ("odd", 301, 199, "RGB", "png"),
        ("near-square", 225, 223, "RGB", "png"),
        ("tiny", 97, 61, "RGB", "png"),
        ("panorama", 800, 200, "RGB", "png"),
        ("exact", 224, 224, "RGB", "png"),
        ("grey", 350, 260, "L", "png"),
        ("alpha", 260, 330, "RGBA", "png"),
        ("photo-jpeg", 400, 300, "RGB", "jpg"),
    ]
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    names = []
    for name, w, h, mode, ext in specs:
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        base = np.stack([128 + 100 * np.sin(x / (17 + 13 * c) + y / (29 + 7 * c) + c) for c in range(3)], axis=-1)
        base += rng.normal(0, 6, size=(h, w, 3))  # texture
        img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(img)
        for _ in range(25):
            x0, y0 = int(rng.randint(0, w)), int(rng.randint(0, h))
            x1, y1 = x0 + int(rng.randint(2, max(3, w // 3))), y0 + int(rng.randint(2, max(3, h // 3)))
            colour = tuple(int(v) for v in rng.randint(0, 256, 3))
            (d.rectangle if rng.rand() < 0.5 else d.ellipse)([x0, y0, x1, y1], fill=colour)
        for i in range(0, w, 7):  # one-pixel lines: aliasing-prone detail
            d.line([i, 0, i + h // 3, h], fill=(255, 255, 255) if i % 2 else (0, 0, 0), width=1)
        if mode == "L":
            img = img.convert("L")
        elif mode == "RGBA":
            a = Image.fromarray(np.clip(255 * (x / w), 0, 255).astype(np.uint8), "L")
            img = img.convert("RGBA")
            img.putalpha(a)
        file = f"{name}.{ext}"
        if ext == "jpg":
            img.save(os.path.join(OUT, "images", file), quality=90)
        else:
            img.save(os.path.join(OUT, "images", file), optimize=True)
        names.append(file)
    return names


PROCESSORS = {
    # CLIP ViT-B/32's preprocessor_config.json
    "clip-224": dict(cls="clip", only=["landscape.png", "tiny.png", "alpha.png"], size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, resample=3,
                     image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711]),
    # the same algorithm at a size where up- and downscaling both occur for the small images
    "clip-bicubic-96": dict(cls="clip", size={"shortest_edge": 96}, crop_size={"height": 96, "width": 96}, resample=3,
                            image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711]),
    "siglip-bicubic-96": dict(cls="siglip", size={"height": 96, "width": 96}, resample=3, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]),
    "clip-bilinear-80": dict(cls="clip", size={"shortest_edge": 88}, crop_size={"height": 80, "width": 80}, resample=2,
                             image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711]),
    # SigLIP's preprocessor_config.json: resize to the square, no crop, mean/std 0.5
    "siglip-224": dict(cls="siglip", only=["panorama.png", "grey.png"], size={"height": 224, "width": 224}, resample=3, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]),
    "siglip-bilinear-64": dict(cls="siglip", size={"height": 64, "width": 64}, resample=2, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]),
}


def random_processors(count=40):
    """Random sizes and filters (up- and downscales, odd sizes, every PIL filter the pipeline accepts), small outputs."""
    rng = np.random.RandomState(80)
    clip_norm = dict(image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711])
    out = {}
    for i in range(count):
        resample = int(rng.choice([1, 2, 3, 4, 5]))
        image = str(rng.choice(["landscape.png", "portrait.png", "odd.png", "near-square.png", "tiny.png", "panorama.png", "grey.png", "alpha.png", "photo-jpeg.jpg"]))
        if rng.rand() < 0.5:
            short = int(rng.randint(8, 320))
            crop = int(rng.randint(4, min(short, 40) + 1))
            out[f"random-{i}"] = dict(cls="clip", only=[image], size={"shortest_edge": short}, crop_size={"height": crop, "width": crop}, resample=resample, **clip_norm)
        else:
            side = int(rng.randint(4, 41))
            out[f"random-{i}"] = dict(cls="siglip", only=[image], size={"height": side, "width": side}, resample=resample, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    return out


PROCESSORS.update(random_processors())


def preprocessor_config(p):
    cfg = {k: v for k, v in p.items() if k not in ("cls", "only")}
    cfg.update(do_resize=True, do_rescale=True, rescale_factor=1 / 255, do_normalize=True, do_convert_rgb=True)
    if p["cls"] == "clip":
        cfg["do_center_crop"] = True
    return cfg


def reference_pixels(names):
    out = {"processors": {}, "cases": []}
    for key, p in PROCESSORS.items():
        cfg = preprocessor_config(p)
        out["processors"][key] = cfg
        proc = (CLIPImageProcessorPil if p["cls"] == "clip" else SiglipImageProcessorPil)(**cfg)
        for name in p.get("only", names):
            img = Image.open(os.path.join(OUT, "images", name))
            values = proc(images=img, return_tensors="np")["pixel_values"][0]  # CHW float32
            mean = np.array(cfg["image_mean"], dtype=np.float64)[:, None, None]
            std = np.array(cfg["image_std"], dtype=np.float64)[:, None, None]
            raw = (values.astype(np.float64) * std + mean) / cfg["rescale_factor"]
            u8 = np.round(raw)
            residual = float(np.abs(raw - u8).max())
            assert residual < 1e-2, (key, name, residual)  # the processor resized uint8 pixels: the inversion is exact
            hwc = np.ascontiguousarray(u8.astype(np.uint8).transpose(1, 2, 0))
            out["cases"].append({
                "processor": key, "image": name, "height": hwc.shape[0], "width": hwc.shape[1],
                "sha256": hashlib.sha256(hwc.tobytes()).hexdigest(),
                "pixels": base64.b64encode(zlib.compress(hwc.tobytes(), 9)).decode(),
                # a few normalised values as the model sees them, to check rescale and mean/std too
                "pixel_values_head": [float(v) for v in values.reshape(-1)[:8]],
            })
    return out


TEXTS = [
    "a photo of a cat",
    "A PHOTO OF A DOG",
    "Two dogs playing in the snow.",
    "it's a bird, isn't it? they're here; we'll see",
    "New York City at night",
    "  multiple   spaces\tand\ttabs\nand newlines  ",
    "numbers 1234567 and 3.14159 and 2nd, 10th",
    "café naïve résumé Zürich",
    "東京の夜景 and 北京",
    "emoji 🐱🐶 party 🎉",
    "html &amp; entities &lt;b&gt;",
    "don't stop—em dash – en dash … ellipsis",
    "hyphen-ated words and e-mail@example.com http://example.com/a?b=c",
    "",
    "a",
    " ".join(["word"] * 100),
    " ".join(f"token{i}" for i in range(60)),
    "The quick brown fox jumps over the lazy dog. " * 4,
    "ÀÉÎÕÜ ß ﬁ ligature Ａ fullwidth",
    "<|startoftext|> literal special tokens <|endoftext|>",
]


def open_clip_simple_tokenizer(bpe_path):
    """OpenAI's CLIP tokenizer as open_clip ships it (its module imports torch only for tensors: a stub stands in)."""
    stub = types.ModuleType("torch")
    stub.__getattr__ = lambda name: object
    sys.modules.setdefault("torch", stub)
    spec = importlib.util.spec_from_file_location("open_clip_tokenizer", os.path.join(os.path.dirname(bpe_path), "tokenizer.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.SimpleTokenizer(bpe_path)


def clip_tokens(bpe_path):
    simple = open_clip_simple_tokenizer(bpe_path)
    # open_clip names the special tokens <start_of_text>/<end_of_text>; Hugging Face's CLIP vocab.json <|startoftext|>/<|endoftext|> (same ids)
    names = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {names.get(k, k): v for k, v in simple.encoder.items()}
    assert len(vocab) == 49408 and vocab["<|startoftext|>"] == 49406 and vocab["<|endoftext|>"] == 49407
    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    d = os.path.join(OUT, "clip")
    os.makedirs(d, exist_ok=True)
    with open("/tmp/w8-clip-vocab.json", "w") as f:
        json.dump(vocab, f)
    with open("/tmp/w8-clip-merges.txt", "w") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = CLIPTokenizer(vocab="/tmp/w8-clip-vocab.json", merges="/tmp/w8-clip-merges.txt", model_max_length=77)
    tok.save_pretrained("/tmp/w8-clip-tok")
    with open("/tmp/w8-clip-tok/tokenizer.json", "rb") as f, gzip.GzipFile(os.path.join(d, "tokenizer.json.gz"), "wb", mtime=0) as g:
        g.write(f.read())
    with open("/tmp/w8-clip-tok/tokenizer_config.json") as f:
        cfg = json.load(f)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    rows = []
    for text in TEXTS:
        enc = tok(text, padding="max_length", truncation=True, max_length=77)
        sot, eot = simple.encoder["<start_of_text>"], simple.encoder["<end_of_text>"]
        oc = [sot] + simple.encode(text)[:75] + [eot]
        rows.append({"text": text, "input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "open_clip_ids": oc})
    return rows


def siglip_tokens():
    """SigLIP's tokenizer: a SentencePiece Unigram model (trained here on seeded text: Google's spiece.model
    is not on this machine), the reference being transformers' SiglipTokenizer on it (SentencePiece itself,
    plus SigLIP's canonicalisation: lower case, ASCII punctuation removed, whitespace collapsed); the
    tokenizer.json an ONNX export ships is made from the same model by transformers' T5 converter."""
    import random
    import sentencepiece as spm
    from transformers import SiglipTokenizer
    from transformers.convert_slow_tokenizer import T5Converter

    d = os.path.join(OUT, "siglip")
    os.makedirs(d, exist_ok=True)
    rng = random.Random(3)
    words = ("the a photo of cat dog two playing in snow city night bird sky red green blue sea field map shapes sun circles "
             "ground end day quick brown fox jumps over lazy picture image man woman child running jumping sitting table chair "
             "car street tree house water mountain river boat train plane flower food plate cup phone computer book reading "
             "writing café naïve numbers 1234 2nd").split()
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) for _ in range(3000)]
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_prefix=os.path.join(d, "spiece"), vocab_size=150, hard_vocab_limit=False,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0, num_threads=1, minloglevel=2)
    os.remove(os.path.join(d, "spiece.vocab"))
    slow = SiglipTokenizer(vocab_file=os.path.join(d, "spiece.model"), model_max_length=64)
    slow._extra_ids = 0  # the T5 converter asks for it; SigLIP has none
    T5Converter(slow).converted().save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "SiglipTokenizer", "do_lower_case": True, "model_max_length": 64, "pad_token": "</s>", "eos_token": "</s>", "unk_token": "<unk>"}, f, indent=1)
    rows = []
    for text in TEXTS:
        enc = slow(text, padding="max_length", truncation=True, max_length=64)
        rows.append({"text": text, "input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip-bpe", required=True)
    args = ap.parse_args()
    names = make_images()
    pixels = reference_pixels(names)
    pixels["versions"] = {"pillow": PIL.__version__, "transformers": transformers.__version__, "numpy": np.__version__}
    with open(os.path.join(OUT, "pixels.json"), "w") as f:
        json.dump(pixels, f)
    tokens = {"versions": {"transformers": transformers.__version__}, "clip": clip_tokens(args.clip_bpe), "siglip": siglip_tokens()}
    with open(os.path.join(OUT, "tokens.json"), "w") as f:
        json.dump(tokens, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
