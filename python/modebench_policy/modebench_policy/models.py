"""Small stand-ins of the field reports' models for profile() (examples/profile_model.py and the
tests): an XTTS-like stack of Linear and Conv1d layers.

XTTS v2 (coqui TTS, `xtts_v2` config): the GPT-2 decoder has d_model 1024, 16 heads, MLP 4096
(per block: qkv 1024->3072, attention output 1024->1024, MLP up 1024->4096, down 4096->1024);
its HiFi-GAN vocoder starts with conv_pre Conv1d(1024, 512, 7, padding 3) and has ResBlock1
convolutions of kernels 3, 7, 11 with dilations 1, 3, 5 ("same" padding) on 512 -> 256 -> 128
channels. The stand-in keeps those shapes and the order (GPT blocks, then the vocoder's convs),
not the weights or the upsampling (ConvTranspose1d is not a covered layer).
"""

from __future__ import annotations


def xtts_like(blocks: int = 2, d_model: int = 1024, mlp: int = 4096, heads: int = 16, vocoder_channels=(512, 256)):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)
            self.up, self.down = nn.Linear(d_model, mlp), nn.Linear(mlp, d_model)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(b, t, c))
            return x + self.down(torch.nn.functional.gelu(self.up(self.ln2(x))))

    class ResBlock(nn.Module):
        def __init__(self, ch, kernel, dilations=(1, 3, 5)):
            super().__init__()
            self.convs = nn.ModuleList(
                nn.Conv1d(ch, ch, kernel, dilation=d, padding=d * (kernel - 1) // 2) for d in dilations)

        def forward(self, x):
            for c in self.convs:
                x = x + c(torch.nn.functional.leaky_relu(x, 0.1))
            return x

    class XttsLike(nn.Module):
        def __init__(self):
            super().__init__()
            self.gpt = nn.Sequential(*[Block() for _ in range(blocks)])
            c0, c1 = vocoder_channels
            self.conv_pre = nn.Conv1d(d_model, c0, 7, padding=3)
            self.res0 = ResBlock(c0, 3)
            self.down = nn.Conv1d(c0, c1, 1)
            self.res1 = ResBlock(c1, 7)
            self.conv_post = nn.Conv1d(c1, 1, 7, padding=3)

        def forward(self, x):  # x: [B, T, d_model] latents
            h = self.gpt(x).transpose(1, 2)
            h = self.res1(self.down(self.res0(self.conv_pre(h))))
            return torch.tanh(self.conv_post(torch.nn.functional.leaky_relu(h, 0.1)))

    torch.manual_seed(0)
    return XttsLike()
