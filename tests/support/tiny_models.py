"""Tiny random-weight chat models of a real architecture, built locally (weights cannot be downloaded).

`build_tiny_chat_model(path)` trains a byte-level BPE tokenizer on a small generated corpus, wraps
it as a Hugging Face fast tokenizer with Qwen2's special tokens and chat template, builds a
two-layer `Qwen2ForCausalLM` with a fixed seed, and saves both with `save_pretrained`, so that
`AutoTokenizer.from_pretrained(path)` and `AutoModelForCausalLM.from_pretrained(path)` load it
exactly as they load a downloaded model. `qwen_0_5b_config()` gives Qwen2.5-0.5B's real sizes for
the GPU benchmark (random weights, real cost per token).

torch, tokenizers and transformers are imported inside the functions: importing this module is free.
"""

from __future__ import annotations

import functools
import itertools
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

# Qwen2's control tokens; `<|im_end|>` ends a turn and is the chat model's EOS.
ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]

# Qwen2-style template, without Qwen's default system prompt.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

TOKENIZER_VOCAB_SIZE = 640
SEED = 1234

_NAMES = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Zoë", "Søren", "Chidi", "Mei", "Ravi"]
_VERBS = ["writes", "reads", "builds", "tests", "streams", "stops", "answers", "asks", "loads"]
_OBJECTS = [
    "a message",
    "the room",
    "a persona",
    "tokens",
    "the model",
    "a reply",
    "the queue",
    "café notes",
    "日本語のテキスト",
    "emoji 🙂",
]
_TAILS = ["quickly.", "again?", "with care!", "in the room.", "before lunch.", "— twice.", "now."]


def training_corpus(lines: int = 400) -> list[str]:
    """Deterministic sentences (ASCII, accents, CJK, emoji) to train the tokenizer on."""
    rng = random.Random(SEED)
    combos = list(itertools.product(_NAMES, _VERBS, _OBJECTS, _TAILS))
    rng.shuffle(combos)
    corpus = [
        f"{name} {verb} {obj} {tail} {rng.randint(0, 999)}" for name, verb, obj, tail in combos
    ]
    return corpus[:lines]


@functools.cache
def _tokenizer_json() -> str:
    """The trained tokenizer as `tokenizer.json` text (trained once per process)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_corpus(), trainer)
    return str(tokenizer.to_str())


def build_tiny_tokenizer(*, chat_template: bool = True) -> Any:
    """A `PreTrainedTokenizerFast` with Qwen2's special tokens and, by default, its chat template."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_tokenizer_json()),
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        additional_special_tokens=[IM_START],
        chat_template=CHAT_TEMPLATE if chat_template else None,
        clean_up_tokenization_spaces=False,
        model_max_length=2048,
    )


def tiny_qwen2_config(vocab_size: int, eos_token_id: int, pad_token_id: int) -> Any:
    """A two-layer Qwen2 config: hidden 64, 4 heads (2 KV heads), 2048 positions."""
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        bos_token_id=None,
        # Wider than the usual 0.02 so that greedy decoding wanders through the vocabulary
        # (multi-byte characters included) instead of repeating one token.
        initializer_range=0.3,
    )


def qwen_0_5b_config(vocab_size: int = 151936) -> Any:
    """Qwen2.5-0.5B(-Instruct)'s real architecture; random weights give its real cost per token."""
    from transformers import Qwen2Config

    # transformers 4 takes `rope_theta`; 5 moves it into `rope_parameters` by itself.
    rope: dict[str, Any] = {"rope_theta": 1000000.0}

    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        hidden_act="silu",
        max_position_embeddings=32768,
        **rope,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        use_sliding_window=False,
        sliding_window=32768,
        max_window_layers=21,
        attention_dropout=0.0,
        bos_token_id=151643,
        eos_token_id=151645,
    )


def build_tiny_chat_model(
    path: Path, *, chat_template: bool = True, config: Any | None = None, dtype: Any = None
) -> Path:
    """Save a tokenizer and a random-weight Qwen2 causal LM into `path`; return `path`.

    `config` replaces the tiny config (e.g. `qwen_0_5b_config()`); its vocabulary may be larger
    than the tokenizer's (ids the tokenizer does not know decode to nothing).
    """
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer(chat_template=chat_template)
    eos_id = tokenizer.convert_tokens_to_ids(IM_END)
    pad_id = tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    if config is None:
        config = tiny_qwen2_config(len(tokenizer), eos_id, pad_id)
    config.eos_token_id, config.pad_token_id = eos_id, pad_id
    torch.manual_seed(SEED)
    model = Qwen2ForCausalLM(config)
    if dtype is not None:
        model = model.to(dtype)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@functools.cache
def cached_tiny_chat_model(*, chat_template: bool = True) -> Path:
    """One tiny chat model per process and flavour, in a temporary directory removed at exit."""
    root = Path(tempfile.mkdtemp(prefix="chimera-tiny-chat-"))
    import atexit

    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return build_tiny_chat_model(root / "model", chat_template=chat_template)
