"""Tiny random-weight diffusers pipelines, built in memory and saved to a folder, so the diffusers backend is
tested on real pipelines (real loading, real `from_pipe`, real denoising) without downloading anything.
Configs follow the ones diffusers' own fast tests use; the tokenizer is a Unigram vocabulary built here."""

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel, T5TokenizerFast

TEXT_DIM = 32


def tokenizer(max_length: int = 32) -> T5TokenizerFast:
    letters = [chr(code) for code in range(97, 123)]
    pieces = ["<pad>", "</s>", "<unk>", "▁", *letters, *("▁" + letter for letter in letters)]
    vocabulary = [(piece, 0.0 if index < 3 else -float(len(piece))) for index, piece in enumerate(pieces)]
    model = Tokenizer(models.Unigram(vocabulary, unk_id=2))
    model.pre_tokenizer = pre_tokenizers.Metaspace()
    model.decoder = decoders.Metaspace()
    return T5TokenizerFast(tokenizer_object=model, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                           model_max_length=max_length, extra_ids=0)


def t5() -> T5EncoderModel:
    torch.manual_seed(0)
    config = T5Config(vocab_size=64, d_model=TEXT_DIM, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                      relative_attention_num_buckets=8)
    return T5EncoderModel(config).eval()


def wan(folder: Path) -> Path:
    """Wan 2.2's TI2V layout (`expand_timesteps`): one set of weights for text- and image-to-video."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel

    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True, patch_size=2,
        latents_mean=[0.0] * 48, latents_std=[1.0] * 48, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
        scale_factor_spatial=16, scale_factor_temporal=4, temperal_downsample=[False, True, True],
    )
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=48, out_channels=48,
        text_dim=TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    pipeline = WanPipeline(transformer=transformer, vae=vae, scheduler=scheduler, text_encoder=t5(),
                           tokenizer=tokenizer(), transformer_2=None, boundary_ratio=None, expand_timesteps=True)
    pipeline.save_pretrained(folder)
    return folder


def ltx(folder: Path, black: bool = False) -> Path:
    """LTX-Video: text-to-video, image-to-video and condition from one folder. `black=True` gives it a decoder
    whose last layer can only output black, to make a take that fails the way a broken checkpoint would."""
    from diffusers import (AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXPipeline,
                           LTXVideoTransformer3DModel)

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=TEXT_DIM,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False), decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4, upsample_factor=(1, 1, 1, 1), timestep_conditioning=False, patch_size=1,
        patch_size_t=1, encoder_causal=True, decoder_causal=False,
    )
    if black:
        with torch.no_grad():
            vae.decoder.conv_out.conv.weight.zero_()
            vae.decoder.conv_out.conv.bias.fill_(-10.0)
    pipeline = LTXPipeline(transformer=transformer, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                           text_encoder=t5(), tokenizer=tokenizer())
    pipeline.save_pretrained(folder)
    return folder


def stable_diffusion(folder: Path) -> Path:
    """A text-to-image pipeline for keyframes (and, through `from_pipe`, image-to-image from a layout)."""
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_DIM, norm_num_groups=2,
    )
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=(4, 8), in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=2,
    )
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=0, hidden_size=TEXT_DIM, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=64, projection_dim=TEXT_DIM,
    )).eval()
    pipeline = StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer(), scheduler=EulerDiscreteScheduler(steps_offset=1),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder)
    return folder
