#!/usr/bin/env python3
"""Turn a published, pickled reward checkpoint into the safetensors folder TailorPO.NET reads.

TailorPO.NET never unpickles files (unpickling can run arbitrary code), so this one-off step runs in Python,
where you choose to trust the file. It needs PyTorch (any version that reads the checkpoint) and nothing else.

  HPSv2 / HPSv2.1 (tgxs002/HPSv2: HPS_v2_compressed.pt, HPS_v2.1_compressed.pt, open_clip ViT-H-14):
    python3 tools/convert_reward_checkpoint.py hpsv2 HPS_v2.1_compressed.pt models/hpsv2.1 --tokenizer <SD v1.5>/tokenizer

  ImageReward (THUDM/ImageReward: ImageReward.pt, BLIP ViT-L + BERT-base):
    python3 tools/convert_reward_checkpoint.py imagereward ImageReward.pt models/imagereward --bert-vocab bert-base-uncased/vocab.txt

The folder gets model.safetensors (the checkpoint's state dict, tensor names and dtypes unchanged) and the
config files the loaders read (docs/rewards.md lists them). Existing output files are not overwritten.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import torch

# open_clip 2.16's model_configs/ViT-H-14.json (HPSv2 builds 'ViT-H-14' with it).
VIT_H_14 = {
    "embed_dim": 1024,
    "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80, "patch_size": 14},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 1024, "heads": 16, "layers": 24},
}
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# BLIP's configs/med_config.json (ImageReward's hub copy of it); encoder_width is overwritten by BLIP with the ViT width.
MED_CONFIG = {
    "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072, "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12, "num_hidden_layers": 12,
    "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": 30524, "encoder_width": 768, "add_cross_attention": True,
}
# Constants of class ImageReward (ImageReward.py) and blip.create_vit('large', 224).
IMAGEREWARD_CONFIG = {
    "reward_mean": 0.16717362830052426, "reward_std": 1.0333394966054072, "max_length": 35, "image_size": 224,
    "vit": {"img_size": 224, "patch_size": 16, "embed_dim": 1024, "depth": 24, "num_heads": 16, "mlp_ratio": 4.0,
            "qkv_bias": True, "layer_norm_eps": 1e-6},
}

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}


def save_safetensors(tensors, path):
    """Writes the safetensors format (8-byte header length, JSON header, raw little-endian bytes in name order)."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in DTYPES:
            sys.exit(f"{name}: dtype {t.dtype} has no safetensors name here")
        raw = t.view(torch.uint8).numpy().tobytes() if t.dim() > 0 else t.reshape(1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(temporary, path)


def state_dict_of(checkpoint_path, key):
    # weights_only refuses arbitrary objects where this torch supports it (>= 1.13).
    try:
        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    except TypeError:
        checkpoint = torch.load(checkpoint_path, map_location="cpu")
    if key and isinstance(checkpoint, dict) and key in checkpoint:
        checkpoint = checkpoint[key]
    if not isinstance(checkpoint, dict) or not all(torch.is_tensor(v) for v in checkpoint.values()):
        sys.exit(f"'{checkpoint_path}' does not hold a state dict of tensors{f' (looked under {key!r})' if key else ''}.")
    # Checkpoints saved from DistributedDataParallel prefix every key with 'module.'.
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in checkpoint.items()}


def write_json(folder, name, value):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2)
            f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["hpsv2", "imagereward"])
    parser.add_argument("checkpoint", help="the downloaded .pt file")
    parser.add_argument("output", help="the model folder to write")
    parser.add_argument("--tokenizer", help="hpsv2: a CLIP tokenizer folder (vocab.json + merges.txt, e.g. SD v1.5's tokenizer/) "
                                             "or open_clip's bpe_simple_vocab_16e6.txt.gz")
    parser.add_argument("--bert-vocab", help="imagereward: bert-base-uncased's vocab.txt")
    args = parser.parse_args()

    os.makedirs(args.output, exist_ok=True)
    weights = os.path.join(args.output, "model.safetensors")
    if args.kind == "hpsv2":
        state = state_dict_of(args.checkpoint, "state_dict")
        if "visual.proj" not in state or "text_projection" not in state:
            sys.exit("This is not an open_clip CLIP state dict (no 'visual.proj' / 'text_projection').")
        save_safetensors(state, weights)
        write_json(args.output, "open_clip_config.json", VIT_H_14)
        write_json(args.output, "preprocess_config.json", {"image_size": VIT_H_14["vision_cfg"]["image_size"], "interpolation": "bicubic",
                                                            "antialias": False, "fill": 0, "mean": CLIP_MEAN, "std": CLIP_STD})
        if args.tokenizer:
            if os.path.isdir(args.tokenizer):
                shutil.copytree(args.tokenizer, os.path.join(args.output, "tokenizer"), dirs_exist_ok=True)
            else:
                shutil.copy(args.tokenizer, os.path.join(args.output, "bpe_simple_vocab_16e6.txt.gz"))
    else:
        state = state_dict_of(args.checkpoint, None)
        if "mlp.layers.0.weight" not in state:
            sys.exit("This is not an ImageReward state dict (no 'mlp.layers.0.weight').")
        save_safetensors(state, weights)
        write_json(args.output, "med_config.json", MED_CONFIG)
        write_json(args.output, "imagereward_config.json", IMAGEREWARD_CONFIG)
        if args.bert_vocab:
            tokenizer = os.path.join(args.output, "tokenizer")
            os.makedirs(tokenizer, exist_ok=True)
            shutil.copy(args.bert_vocab, os.path.join(tokenizer, "vocab.txt"))
            write_json(tokenizer, "added_tokens.json", {"[DEC]": 30522, "[ENC]": 30523})
    print(f"Wrote {weights} ({len(state)} tensors) and the configs to {args.output}.")


if __name__ == "__main__":
    main()
